"""Hash-chain verification over the raw stored events, and anchors that catch truncation.

Pure: the caller feeds rows read from the store (never from snapshots) in notification
order and gets back the heads of every stream and the first event that breaks::

    verifier = ChainVerifier()
    for row in rows:                       # RawEvent, as stored
        verifier.feed(row)
    report = verifier.finish()
    report.first_break                     # None when every link holds
    check_anchors(report, [Anchor(aid, 12, "ab12…", "registry anchor floe-prod-index")])

Reasons a break is named with:

* ``edited``    an event's content no longer hashes to what its successor (or an anchor)
                recorded;
* ``removed``   versions are missing from a stream;
* ``reordered`` versions are stored out of order, or an event links to an earlier,
                non-adjacent event;
* ``truncated`` an anchor saw a version the ledger no longer has (newest events deleted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from floe_ledger.domain.model.events import GENESIS, TOPIC_PREFIX
from floe_ledger.projections.audit_hash import owned_row_digest, parse_json_object, row_digest

REGISTERED_TOPIC = TOPIC_PREFIX + "ArtifactRegistered.v1"


@dataclass(slots=True)
class RawEvent:
    """One stored event: its position, stream, version, topic and state as stored.

    Read-only by convention (a million are made per verify: slots, not frozen, is cheaper).
    """

    position: int
    artifact_id: str
    version: int
    topic: str
    state: bytes | str

    @property
    def kind(self) -> str:
        return kind_of(self.topic)


@dataclass(frozen=True)
class ChainBreak:
    """The first event of a stream that does not verify, and why."""

    artifact_id: str
    version: int
    kind: str
    reason: str  # edited | removed | reordered | truncated
    message: str
    position: int | None = None
    repository: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Digests:
    """Every version's recomputed hash in one stream, 32 bytes each in one buffer (a dict of
    hex strings would take ~200 bytes an event); the first hash seen for a version counts.

    Versions 1..n that arrive in order share the buffer; the rest (a broken stream's
    reordered, duplicated or unreadable rows) sit in a small dict.
    """

    __slots__ = ("_blob", "_other")

    def __init__(self) -> None:
        self._blob = bytearray()
        self._other: dict[int, bytes] = {}

    def add(self, version: int, digest: bytes) -> None:
        if version in self._other or 1 <= version <= len(self._blob) // 32:
            return
        if digest and version == len(self._blob) // 32 + 1:
            self._blob += digest
        else:
            self._other[version] = digest

    def get(self, version: int) -> str | None:
        """The hex hash of ``version`` ("" for a row that did not parse), or None."""
        if 1 <= version <= len(self._blob) // 32:
            return self._blob[(version - 1) * 32:version * 32].hex()
        found = self._other.get(version)
        return found.hex() if found is not None else None

    def __getitem__(self, version: int) -> str:
        found = self.get(version)
        if found is None:
            raise KeyError(version)
        return found

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and self.get(version) is not None

    def __len__(self) -> int:
        return len(self._blob) // 32 + len(self._other)

    def items(self) -> Iterator[tuple[int, str]]:
        for index in range(len(self._blob) // 32):
            yield index + 1, self._blob[index * 32:(index + 1) * 32].hex()
        for version, digest in self._other.items():
            yield version, digest.hex()


@dataclass
class StreamHead:
    """What the verifier learnt about one stream: its head and every recomputed hash."""

    artifact_id: str
    repository: str = ""
    version: int = 0
    hash: str = GENESIS
    events: int = 0
    hashes: Digests = field(default_factory=Digests, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"artifact_id": self.artifact_id, "repository": self.repository,
                "version": self.version, "hash": self.hash, "events": self.events}


@dataclass(frozen=True)
class Anchor:
    """A stream head recorded outside the ledger (a registry record or a signed checkpoint)."""

    artifact_id: str
    version: int
    hash: str
    source: str


@dataclass
class ChainReport:
    """Every stream's head, the number of events read, and the first break per stream."""

    streams: dict[str, StreamHead]
    events: int
    breaks: list[ChainBreak]

    @property
    def first_break(self) -> ChainBreak | None:
        return self.breaks[0] if self.breaks else None

    def heads(self) -> dict[str, dict[str, Any]]:
        """``{artifact_id: {version, hash, repository}}`` for every stream."""
        return {aid: {"version": s.version, "hash": s.hash, "repository": s.repository}
                for aid, s in sorted(self.streams.items())}


def kind_of(topic: str) -> str:
    """``floe.ledger/TagWritten.v1`` → ``TagWritten``."""
    name = topic.removeprefix(TOPIC_PREFIX)
    return name.rsplit(".v", 1)[0] if ".v" in name else name


def parse_state(raw: RawEvent) -> dict[str, Any] | None:
    """The stored state as a dict, or None if it is not a JSON object."""
    return parse_json_object(raw.state)


def raw_hash(raw: RawEvent, state: dict[str, Any]) -> str:
    """The chain hash of a stored row (state plus its originator id and version)."""
    return row_digest(raw.topic, raw.artifact_id, raw.version, state, raw.state).hex()


@dataclass(frozen=True)
class _Seen:
    version: int
    kind: str
    position: int


def _seen(last: tuple[int, str, int]) -> _Seen:
    version, topic, position = last
    return _Seen(version, kind_of(topic), position)


@dataclass(slots=True)
class _Stream:
    head: StreamHead
    expected: int = 1
    last: tuple[int, str, int] | None = None  # (version, topic, position) of the last row
    suspect: tuple[_Seen, _Seen | None] | None = None  # (event with a bad link, its prior)
    broken: ChainBreak | None = None
    missing: frozenset[int] = frozenset()


class ChainVerifier:
    """Streaming verifier: feed rows in notification order, then :meth:`finish`."""

    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._events = 0

    def feed(self, raw: RawEvent) -> None:
        """Check one row against its stream so far."""
        self._events += 1
        s = self._streams.get(raw.artifact_id)
        if s is None:
            s = self._streams[raw.artifact_id] = _Stream(StreamHead(raw.artifact_id))
        state = parse_json_object(raw.state)
        if state is None:
            digest, prev = b"", None
        else:
            prev = state.get("prev_hash")
            if raw.topic == REGISTERED_TOPIC:
                s.head.repository = str(state.get("repository", ""))
            digest = owned_row_digest(raw.topic, raw.artifact_id, raw.version, state,
                                      raw.state)  # adds the ids to state
        if s.broken is None:
            if not (s.suspect is None and raw.version == s.expected and state is not None
                    and prev == s.head.hash):  # else: the link holds
                self._check(s, raw, state)
        elif s.broken.reason == "removed" and raw.version in s.missing:
            s.broken = replace(s.broken, reason="reordered", message=(
                f"v{raw.version} is stored after v{s.broken.version}: events were reordered"))
        self._record(s, raw, digest)

    def finish(self) -> ChainReport:
        """The report; a link still under suspicion is judged without a successor."""
        for s in self._streams.values():
            if s.suspect is not None and s.broken is None:
                self._judge(s, None, "")
        streams = {aid: s.head for aid, s in self._streams.items()}
        breaks = [s.broken for s in self._streams.values() if s.broken is not None]
        breaks.sort(key=lambda b: b.position or 0)
        return ChainReport(streams, self._events, breaks)

    # ---- checks ---------------------------------------------------------------------

    def _check(self, s: _Stream, raw: RawEvent, state: dict[str, Any] | None) -> None:
        seen = _Seen(raw.version, raw.kind, raw.position)
        if s.suspect is not None:
            self._judge(s, raw if raw.version == s.expected else None,
                        str((state or {}).get("prev_hash", "")))
            if s.broken is not None:
                return
        if raw.version < s.expected:
            self._break(s, seen, "reordered", f"v{raw.version} is stored after "
                        f"v{s.expected - 1}: events were reordered or duplicated")
        elif raw.version > s.expected:
            s.missing = frozenset(range(s.expected, raw.version))
            gap = (f"v{s.expected}" if raw.version == s.expected + 1
                   else f"v{s.expected}..v{raw.version - 1}")
            self._break(s, seen, "removed", f"{gap} missing before v{raw.version}: "
                        "events were removed")
        elif state is None:
            self._break(s, seen, "edited", f"v{raw.version} is not a JSON object: it was edited")
        elif state.get("prev_hash") != s.head.hash:
            self._suspect(s, seen, str(state.get("prev_hash", "")))

    def _suspect(self, s: _Stream, seen: _Seen, prev_hash: str) -> None:
        """A link that does not hold; which event is to blame needs one more event."""
        linked = _version_of(s.head.hashes, prev_hash)
        if linked is not None and linked != seen.version - 1:
            self._break(s, seen, "reordered", f"v{seen.version} links to v{linked}, not "
                        f"v{seen.version - 1}: events were reordered")
            return
        s.suspect = (seen, _seen(s.last) if s.last is not None else None)

    def _judge(self, s: _Stream, nxt: RawEvent | None, next_prev: str) -> None:
        """Blame an event for the suspect link, using the event after it if there is one."""
        assert s.suspect is not None
        seen, prior = s.suspect
        s.suspect = None
        if nxt is not None and next_prev != s.head.hash:
            linked = _version_of(s.head.hashes, next_prev)
            if linked is not None and linked < seen.version:
                self._break(s, seen, "reordered", f"v{nxt.version} links to v{linked}: "
                            f"v{seen.version} and its neighbours were reordered")
            else:
                self._break(s, seen, "edited", f"v{seen.version} no longer links to "
                            f"v{seen.version - 1} nor v{nxt.version} to it: v{seen.version} "
                            "was edited (or events removed and renumbered)")
            return
        if prior is None:
            self._break(s, seen, "edited", f"v{seen.version}'s prev_hash is not the genesis "
                        "hash: it was edited")
            return
        self._break(s, prior, "edited", f"v{prior.version} no longer hashes to the prev_hash "
                    f"v{seen.version} recorded: v{prior.version} was edited")

    def _break(self, s: _Stream, seen: _Seen, reason: str, message: str) -> None:
        s.broken = ChainBreak(s.head.artifact_id, seen.version, seen.kind, reason, message,
                              seen.position, s.head.repository)

    def _record(self, s: _Stream, raw: RawEvent, digest: bytes) -> None:
        head = s.head
        head.events += 1
        hashes = head.hashes
        if digest and not hashes._other and len(hashes._blob) == (raw.version - 1) * 32:
            hashes._blob += digest  # the next version of a stream read in order
        else:
            hashes.add(raw.version, digest)
        if raw.version >= head.version:
            head.version, head.hash = raw.version, digest.hex()
        if raw.version >= s.expected:
            s.expected = raw.version + 1
        s.last = (raw.version, raw.topic, raw.position)


def _version_of(hashes: Digests, digest: str) -> int | None:
    for version, value in hashes.items():
        if value == digest:
            return version
    return None


def verify_chain(rows: Iterable[RawEvent]) -> ChainReport:
    """Verify every row (see :class:`ChainVerifier`)."""
    verifier = ChainVerifier()
    for row in rows:
        verifier.feed(row)
    return verifier.finish()


def check_anchor(report: ChainReport, anchor: Anchor) -> ChainBreak | None:
    """Whether the ledger still holds the head an anchor recorded, unchanged."""
    s = report.streams.get(anchor.artifact_id)
    if s is None:
        return ChainBreak(anchor.artifact_id, 1, "", "truncated",
                          f"{anchor.source} saw v{anchor.version} of this artifact but the "
                          "ledger has none of its events: the stream was deleted")
    if anchor.version > s.version:
        missing = anchor.version - s.version
        return ChainBreak(anchor.artifact_id, s.version + 1, "", "truncated",
                          f"the ledger ends at v{s.version} but {anchor.source} saw "
                          f"v{anchor.version}: the newest {missing}+ event(s) were deleted",
                          None, s.repository)
    actual = s.hashes.get(anchor.version)
    if actual != anchor.hash:
        return ChainBreak(anchor.artifact_id, anchor.version, "", "edited",
                          f"v{anchor.version} hashes to {(actual or '-')[:12]}… but "
                          f"{anchor.source} recorded {anchor.hash[:12]}…: the ledger was "
                          "edited or rewritten from there on", None, s.repository)
    return None


def check_anchors(report: ChainReport, anchors: Iterable[Anchor]) -> list[ChainBreak]:
    """Every contradiction between the ledger and the anchors, one per stream and reason
    (the anchor with the highest version speaks for its stream)."""
    found: dict[tuple[str, str], ChainBreak] = {}
    for anchor in sorted(anchors, key=lambda a: -a.version):
        broken = check_anchor(report, anchor)
        if broken is not None:
            found.setdefault((broken.artifact_id, broken.reason), broken)
    return sorted(found.values(), key=lambda b: (b.artifact_id, b.reason != "truncated"))

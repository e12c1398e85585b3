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

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from floe_ledger.domain.model.events import TOPIC_PREFIX
from floe_ledger.projections.audit_hash import (
    Digests,
    owned_row_digest,
    parse_json_object,
    row_digest,
)
from floe_ledger.projections.audit_types import (
    Anchor,
    ChainBreak,
    ChainReport,
    RawEvent,
    StreamHead,
    kind_of,
)

__all__ = ["Anchor", "ChainBreak", "ChainReport", "ChainVerifier", "RawEvent", "StreamHead",
           "check_anchor", "check_anchors", "kind_of", "parse_state", "raw_hash",
           "verify_chain"]

REGISTERED_TOPIC = TOPIC_PREFIX + "ArtifactRegistered.v1"


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
        head.hashes.add(raw.version, digest)
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

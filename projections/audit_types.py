"""The records of a chain verification: rows as stored, breaks, stream heads, anchors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from floe_ledger.domain.model.events import GENESIS, TOPIC_PREFIX
from floe_ledger.projections.audit_hash import Digests


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


@dataclass
class StreamHead:
    """What the verifier learnt about one stream: its head and every recomputed hash."""

    artifact_id: str
    repository: str = ""
    version: int = 0
    hash: str = GENESIS
    events: int = 0
    hashes: Digests = field(default_factory=Digests, repr=False)  # anchors read them

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

"""The audit sink port: where write-once copies of the ledger go (ARCH-01..ARCH-03).

A sink receives *archive objects*: a batch of events exactly as stored (JSON Lines, one
event a line with its recomputed hash, the ``floe audit export`` format) or a signed
checkpoint document. Keys are derived from positions and content hashes, so re-sending an
object after a failure writes the same bytes under the same key::

    obj = ArchiveObject("events/0000000000000001-0000000000000006-1f2e….jsonl", "events",
                        body, sha256_hex, 1, 6)
    if sink.accepts(obj.kind):
        sink.put(obj)          # True: written now; False: already there, the same bytes

Sinks are found through the ``floe.audit_sinks`` entry point group: each entry point names a
factory ``factory(settings, context) -> AuditSink`` taking the mapping configured under
``artifacts.audit.<name>`` and a :class:`SinkContext`. A sink that can also be read back
(for ``floe audit verify --archive``) implements :class:`ArchiveReader`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from floe_ledger.domain.services.ports import Registry

EVENTS = "events"
CHECKPOINT = "checkpoint"
KINDS = (EVENTS, CHECKPOINT)


@dataclass(frozen=True)
class ArchiveObject:
    """One write-once object: its key (relative to the sink's own prefix), kind and bytes."""

    key: str
    kind: str  # "events" | "checkpoint"
    body: bytes
    sha256: str  # hex digest of body
    first_position: int | None = None
    last_position: int | None = None


@dataclass(frozen=True)
class SinkContext:
    """What a sink may use besides its own settings."""

    env: Mapping[str, str] = field(default_factory=dict)
    ledger: str = ""  # where the ledger is (display form, no secrets)
    registry: Callable[[], Registry] | None = None  # the primary registry, built on first use


@runtime_checkable
class AuditSink(Protocol):
    """Where archive objects are written, each once. Failures raise any exception: the
    caller keeps the object in the outbox and tries again later."""

    name: str

    def location(self) -> str:
        """Where the objects go, for messages (no credentials)."""
        ...

    def accepts(self, kind: str) -> bool:
        """Whether this sink stores objects of ``kind`` ("events", "checkpoint")."""
        ...

    def put(self, obj: ArchiveObject) -> bool:
        """Store ``obj`` (idempotent): True if written now, False if it was already there
        with the same bytes."""
        ...


@runtime_checkable
class ArchiveReader(Protocol):
    """A sink whose objects can be read back to prove the ledger against them."""

    def keys(self, kind: str) -> Iterator[str]:
        """Every stored key of ``kind``, in key order."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``."""
        ...


SinkFactory = Callable[[Mapping[str, Any], SinkContext], AuditSink]

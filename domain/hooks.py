"""Ports the promotion flow calls between deciding and writing tags.

Each has a do-nothing default so the core flow runs with no signature policy and
no gates; the composition root plugs in the real adapters.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from floe_ledger.domain.ports import Manifest, Registry


@dataclass(frozen=True)
class SignatureOutcome:
    """What signature verification means for the promotion.

    ``decision`` is ``proceed`` (verified or off), ``warn`` (promote, but say so) or
    ``refuse`` (enforce and not verified).
    """

    decision: str
    verdict: dict[str, Any]
    message: str = ""


class SignatureCheck(Protocol):
    def check(self, registry: Registry, digest: str, *, use_cache: bool) -> SignatureOutcome: ...


class NoSignatureCheck:
    """Verification off: recorded as skipped."""

    def check(self, registry: Registry, digest: str, *, use_cache: bool) -> SignatureOutcome:
        return SignatureOutcome("proceed", {"status": "skipped", "mode": "none",
                                            "enforcement": "off"}, "signature check is off")


@dataclass(frozen=True)
class GateContext:
    """What a gate may know about the promotion."""

    repository: str
    artifact_ref: str
    digest: str
    version: str
    tag: str
    source: str | None
    target: str
    registry: Registry
    signature: dict[str, Any] = field(default_factory=dict)
    manifest: Manifest | None = None  # already fetched by the flow: gates need not GET it


class GateRunner(Protocol):
    def gate_names(self, target: str) -> list[str]: ...
    def run(self, context: GateContext) -> list[dict[str, Any]]: ...


class NoGates:
    def gate_names(self, target: str) -> list[str]:
        return []

    def run(self, context: GateContext) -> list[dict[str, Any]]:
        return []


class RecordWriter(Protocol):
    """Writes the promotion record next to the artifact (an OCI referrer)."""

    def write(self, registry: Registry, subject_digest: str, record: dict[str, Any]) -> str | None:
        ...


class NoRecords:
    def write(self, registry: Registry, subject_digest: str, record: dict[str, Any]) -> str | None:
        return None


class ReplicationJob(Protocol):
    """Replica writes running in the background."""

    def wait(self) -> list[dict[str, Any]]:
        """One ``{uri, status: ok|failed, error, tags}`` per replica, once all are done."""
        ...


class Replication(Protocol):
    """Copies a promotion to the disaster-recovery replicas (FR-028..030).

    Never raises for a replica failure: it is a status, the promotion stands."""

    def start(self, registry: Registry, digest: str, tags: Sequence[str], *,
              manifest: Manifest | None = None,
              immutable: Collection[str] = ()) -> ReplicationJob: ...

    def push_companions(self, registry: Registry, digest: str,
                        statuses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]: ...


class _NoJob:
    def wait(self) -> list[dict[str, Any]]:
        return []


class NoReplicas:
    """No ``artifacts.replicas``: only the primary is written."""

    def start(self, registry: Registry, digest: str, tags: Sequence[str], *,
              manifest: Manifest | None = None,
              immutable: Collection[str] = ()) -> ReplicationJob:
        return _NoJob()

    def push_companions(self, registry: Registry, digest: str,
                        statuses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [dict(s) for s in statuses]


class ProcessProbe(Protocol):
    def owner(self) -> str: ...
    def alive(self, owner: str) -> bool | None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...

    def pause(self, attempt: int) -> None:
        """Wait before retry ``attempt`` after a lost race (jittered, growing)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def pause(self, attempt: int) -> None:
        time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))  # noqa: S311

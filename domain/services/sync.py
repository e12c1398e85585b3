"""Bringing replicas level with the ledger (``floe platform sync``, FR-029).

The ledger says which tags the primary holds (:func:`expected_tags`); the
:class:`ReplicaSync` port compares each replica with them and copies what is missing::

    service = SyncService(lambda: store, repository, lambda: primary, replicas)
    result = service.check()      # write nothing: which replicas are behind
    result = service.sync()       # copy tags, artifacts and companions to every replica
    raise SystemExit(result.exit_code)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from floe_ledger.domain.model.errors import ExitCode, UsageError
from floe_ledger.domain.model.replicas import expected_tags
from floe_ledger.domain.services.ports import LedgerStore, Registry


class ReplicaReport(Protocol):
    """What one replica's check or sync found."""

    @property
    def ok(self) -> bool:
        """The replica is level with the ledger (check) or was brought level (sync)."""
        ...

    def as_dict(self) -> dict[str, Any]: ...


class ReplicaSync(Protocol):
    """The configured replicas, compared with and copied from the primary."""

    @property
    def configured(self) -> bool:
        """Whether any replica is configured."""
        ...

    def check(self, primary: Registry, expected: Mapping[str, str]) -> Sequence[ReplicaReport]:
        """Per replica: which ``expected`` tags (tag -> digest) or companions it lacks."""
        ...

    def sync(self, primary: Registry, expected: Mapping[str, str]) -> Sequence[ReplicaReport]:
        """Per replica: copy what it lacks of ``expected`` from ``primary``."""
        ...


@dataclass(frozen=True)
class SyncResult:
    """The replicas' reports, and the exit code they mean."""

    expected_tags: int
    replicas: Sequence[ReplicaReport]
    checked_only: bool

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.replicas)

    @property
    def exit_code(self) -> int:
        """0 when every replica is level; 14 if a check found one behind; 5 if a sync failed."""
        if self.ok:
            return 0
        return int(ExitCode.INTEGRITY if self.checked_only else ExitCode.REGISTRY_UNAVAILABLE)


@dataclass
class SyncService:
    """Compare every replica with what the ledger says the primary holds, or level them.

    The ledger and the primary are opened only once replicas are known to be configured
    (opening a SQLite ledger creates it), hence the zero-argument ``store`` and ``registry``.
    """

    store: Callable[[], LedgerStore]
    repository: str
    registry: Callable[[], Registry]
    replicas: ReplicaSync

    def check(self) -> SyncResult:
        """Report which replicas are behind; write nothing."""
        expected = self._expected()
        return SyncResult(len(expected), self.replicas.check(self.registry(), expected), True)

    def sync(self) -> SyncResult:
        """Copy to every replica the tags, artifacts, signatures and records it lacks."""
        expected = self._expected()
        return SyncResult(len(expected), self.replicas.sync(self.registry(), expected), False)

    def _expected(self) -> dict[str, str]:
        if not self.replicas.configured:
            raise UsageError("no replicas are configured",
                             hint="add artifacts.replicas: [{uri: ...}] to manifest.yaml")
        artifact = self.store().load(self.repository)
        return expected_tags(artifact, self.registry().uri) if artifact else {}

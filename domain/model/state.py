"""The Artifact aggregate's state: its types, the fold of its events (``when``) and the
questions it answers while deciding. Its JSON form for snapshots is in ``snapshot.py``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from floe_ledger.domain.model import events as ev


@dataclass
class Live:
    version: str
    digest: str
    by: str
    at: datetime
    via: str  # promotion | rollback
    ref_id: str


@dataclass
class Promotion:
    """A promotion from its request to its completion (or refusal)."""

    promotion_id: str
    version: str
    digest: str
    source: str | None
    target: str
    operator: str
    requested_at: datetime
    owner: str = ""
    lease_until: datetime | None = None
    authorization: dict[str, Any] = field(default_factory=dict)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (registry, tag) -> digest
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)
    state: str = "open"  # open | completed | rejected
    completed_at: datetime | None = None


@dataclass
class OpenRollback:
    """A rollback requested and not yet completed (the process may have died writing it)."""

    rollback_id: str
    version: str
    digest: str
    rollback_tag: str
    sequence: int
    reason: str
    requested_at: datetime
    impact: dict[str, Any] = field(default_factory=dict)
    previous_version: str | None = None
    previous_digest: str | None = None


@dataclass
class Lock:
    reason: str
    by: str
    at: datetime


@dataclass
class LockChange:
    """This ledger's newest lock or unlock of an environment: what its registry record says.
    ``lock_id`` is derived from the event, so a run that was killed before the record was
    written and the run that finishes it publish the same record."""

    lock_id: str
    locked: bool
    reason: str
    at: datetime


class ArtifactState:
    """What the Artifact aggregate knows: the fold of its events (``when``) and the
    read-only questions asked of it while deciding. Commands live on
    :class:`floe_ledger.domain.model.artifact.Artifact`."""

    def __init__(self, repository: str) -> None:
        self.repository = repository
        self.chain_head = ev.GENESIS
        self.versions: dict[str, str] = {}
        self.live: dict[str, Live] = {}
        self.promotions: dict[str, Promotion] = {}
        self.by_target: dict[tuple[str, str], str] = {}  # (version, env) -> latest promotion id
        self.rollbacks: dict[tuple[str, str], int] = {}
        self.rollbacks_requested: dict[str, OpenRollback] = {}  # env -> newest, until done
        self.locks: dict[str, Lock] = {}
        self.timeline: dict[str, list[Live]] = {}  # env -> what went live there, in order
        self.ledger_id = ""  # this ledger's stable id, named by every record it writes
        self.observed: set[str] = set()  # digests of other ledgers' records folded here
        self.lock_changed: dict[str, datetime] = {}  # env -> when its lock state last changed
        self.own_lock_changes: dict[str, LockChange] = {}  # env -> this ledger's, if newest
        self.collected: set[str] = set()  # tags `floe gc` deleted (or found gone) on the primary

    # ---- queries ------------------------------------------------------------------------

    def completed(self, version: str, env: str) -> Promotion | None:
        pid = self.by_target.get((version, env))
        promo = self.promotions.get(pid) if pid else None
        return promo if promo and promo.state == "completed" else None

    def open_promotion(self, version: str, env: str) -> Promotion | None:
        pid = self.by_target.get((version, env))
        promo = self.promotions.get(pid) if pid else None
        return promo if promo and promo.state == "open" else None

    def open_rollback(self, env: str) -> OpenRollback | None:
        """The rollback of ``env`` requested and not completed, unless something went live
        there after it was requested (then it is moot)."""
        requested = self.rollbacks_requested.get(env)
        live = self.live.get(env)
        if requested is None or (live is not None and live.at >= requested.requested_at):
            return None
        return requested

    def versions_in(self, env: str) -> list[str]:
        """Versions promoted into ``env`` (completed), oldest first."""
        found = [
            p for p in self.promotions.values() if p.target == env and p.state == "completed"
        ]
        found.sort(key=lambda p: p.completed_at or p.requested_at)
        return list(dict.fromkeys(p.version for p in found))

    def gate_durations(self) -> dict[str, list[int]]:
        """Past durations (ms) of each gate that ran, from every promotion's results."""
        out: dict[str, list[int]] = {}
        for promo in self.promotions.values():
            for result in promo.gate_results:
                if result.get("status") in ("passed", "warning", "failed") and isinstance(
                        result.get("duration_ms"), int):
                    out.setdefault(str(result.get("gate")), []).append(result["duration_ms"])
        return out

    # ---- evolve -------------------------------------------------------------------------

    @singledispatchmethod
    def when(self, event: ev.ArtifactEvent) -> None:
        """Events with no effect on decision state (e.g. ArtifactRegistered)."""

    @when.register
    def _(self, event: ev.VersionObserved) -> None:
        self.versions[event.version] = event.digest

    @when.register
    def _(self, event: ev.PromotionRequested) -> None:
        self.versions.setdefault(event.version, event.digest)
        self.promotions[event.promotion_id] = Promotion(
            promotion_id=event.promotion_id, version=event.version, digest=event.digest,
            source=event.source_environment, target=event.target_environment,
            operator=event.operator, requested_at=event.timestamp, owner=event.owner,
            lease_until=event.lease_until, authorization=dict(event.authorization),
        )
        self.by_target[(event.version, event.target_environment)] = event.promotion_id

    @when.register
    def _(self, event: ev.PromotionRejected) -> None:
        promo = self.promotions.get(event.promotion_id)
        if promo is not None:
            promo.state = "rejected"

    @when.register
    def _(self, event: ev.SignatureVerified) -> None:
        self.promotions[event.promotion_id].signature = event.verdict

    @when.register
    def _(self, event: ev.SignatureRejected) -> None:
        self.promotions[event.promotion_id].signature = event.verdict

    @when.register
    def _(self, event: ev.GatePassed) -> None:
        self.promotions[event.promotion_id].gate_results.append(event.result)

    @when.register
    def _(self, event: ev.GateFailed) -> None:
        self.promotions[event.promotion_id].gate_results.append(event.result)

    @when.register
    def _(self, event: ev.TagWritten) -> None:
        self.promotions[event.promotion_id].tags[(event.registry, event.tag)] = event.digest
        self.collected.discard(event.tag)

    @when.register
    def _(self, event: ev.TagsCollected) -> None:
        self.collected.update(event.deleted, event.absent)

    @when.register
    def _(self, event: ev.PromotionCompleted) -> None:
        promo = self.promotions[event.promotion_id]
        promo.state = "completed"
        promo.completed_at = event.timestamp
        self._go_live(promo.target, Live(promo.version, promo.digest, promo.operator,
                                         event.timestamp, "promotion", promo.promotion_id))

    @when.register
    def _(self, event: ev.RollbackRequested) -> None:
        self.versions.setdefault(event.version, event.digest)
        self.rollbacks_requested[event.environment] = OpenRollback(
            rollback_id=event.rollback_id, version=event.version, digest=event.digest,
            rollback_tag=event.rollback_tag, sequence=event.sequence, reason=event.reason,
            requested_at=event.timestamp, impact=dict(event.impact),
            previous_version=event.previous_version, previous_digest=event.previous_digest)

    @when.register
    def _(self, event: ev.RolledBack) -> None:
        requested = self.rollbacks_requested.get(event.environment)
        if requested is not None and requested.rollback_id == event.rollback_id:
            del self.rollbacks_requested[event.environment]
        self.rollbacks[(event.version, event.environment)] = event.sequence
        self.collected.discard(event.rollback_tag)
        self._go_live(event.environment, Live(event.version, event.digest, event.operator,
                                              event.timestamp, "rollback", event.rollback_id))

    def _go_live(self, env: str, live: Live) -> None:
        self.live[env] = live
        self.timeline.setdefault(env, []).append(live)

    def _went_live_before(self, env: str, live: Live) -> None:
        """What ran in ``env`` before what runs there now (an older record of another ledger)."""
        lives = self.timeline.setdefault(env, [])
        lives.append(live)
        lives.sort(key=lambda lv: lv.at)

    def _passed(self, promo: Promotion) -> None:
        """``promo.version`` passed ``promo.target``: another ledger's record, or an adoption."""
        self.promotions.setdefault(promo.promotion_id, promo)
        self.versions.setdefault(promo.version, promo.digest)
        key = (promo.version, promo.target)
        if self.completed(*key) is None and self.open_promotion(*key) is None:
            self.by_target[key] = promo.promotion_id

    @when.register
    def _(self, event: ev.ArtifactRegistered) -> None:
        self.ledger_id = ledger_id(event.originator_id, event.timestamp)

    @when.register
    def _(self, event: ev.RecordObserved) -> None:
        self.observed.add(event.record_digest)
        env, at, who = event.environment, event.recorded_at, event.recorded_operator
        if event.record_kind in ("promotion", "adoption") and event.version:
            self._passed(Promotion(
                promotion_id=event.record_id, version=event.version, digest=event.subject_digest,
                source=event.source_environment, target=env, operator=who, requested_at=at,
                state="completed", completed_at=at))
        if event.record_kind in ("promotion", "rollback") and event.version:
            if event.record_kind == "rollback":
                key = (event.version, env)
                self.rollbacks[key] = max(self.rollbacks.get(key, 0), event.sequence or 0)
                self.versions.setdefault(event.version, event.subject_digest)
            live = Live(event.version, event.subject_digest, who, at, event.record_kind,
                        event.record_id)
            (self._go_live if event.goes_live else self._went_live_before)(env, live)
        if event.lock_effect == "locked":
            self.locks[env] = Lock(event.reason, who, at)
        elif event.lock_effect == "unlocked":
            self.locks.pop(env, None)
        if event.lock_effect:
            self.lock_changed[env] = at
            self.own_lock_changes.pop(env, None)  # another ledger's record says it now

    @when.register
    def _(self, event: ev.VersionAdopted) -> None:
        self._passed(Promotion(
            promotion_id=event.adoption_id, version=event.version, digest=event.digest,
            source=None, target=event.environment, operator=event.operator,
            requested_at=event.timestamp, state="completed", completed_at=event.timestamp))

    @when.register
    def _(self, event: ev.EnvironmentLocked) -> None:
        self.locks[event.environment] = Lock(event.reason, event.operator, event.timestamp)
        self._lock_changed(event, locked=True)

    @when.register
    def _(self, event: ev.EnvironmentUnlocked) -> None:
        self.locks.pop(event.environment, None)
        self._lock_changed(event, locked=False)

    def _lock_changed(self, event: ev.EnvironmentLocked | ev.EnvironmentUnlocked, *,
                      locked: bool) -> None:
        self.lock_changed[event.environment] = event.timestamp
        # the ledger's id too: every ledger's stream of a repository has the same id, so its
        # position alone names a different lock in each ledger
        lock_id = hashlib.sha256(
            f"{self.ledger_id}:{event.originator_id}:{event.originator_version}".encode())
        self.own_lock_changes[event.environment] = LockChange(
            lock_id.hexdigest()[:32], locked, event.reason, event.timestamp)


def ledger_id(artifact_id: UUID, registered_at: datetime) -> str:
    """A ledger's stable id: its stream's identity and the moment the stream began. Ledgers
    of one repository in different checkouts differ; runners sharing one ledger share it."""
    return hashlib.sha256(f"{artifact_id}:{registered_at.isoformat()}".encode()).hexdigest()[:16]

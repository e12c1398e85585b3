"""Lock and unlock an environment (FR-035..FR-039).

    locks = LockService(store, registry, repository, config.promotion, clock=clock)
    locks.lock("prod", "incident 42", actor)

A lock change is saved through the same :class:`ArtifactSession` as a promotion, and its
record (beside what the environment runs) is published through the same
:class:`RegistryWriter`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.authorization import authorize
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.state import LockChange
from floe_ledger.domain.services.ports import (
    Clock,
    LedgerStore,
    NoRecordReader,
    NoRecords,
    NoReplicas,
    RecordReader,
    RecordWriter,
    Registry,
)
from floe_ledger.domain.services.reconcile import environment_tags, reconcile
from floe_ledger.domain.services.registry_writes import RegistryWriter, head_anchor
from floe_ledger.domain.services.tracing import SPAN_LOCK, SPAN_UNLOCK, NoopTracer, Tracer
from floe_ledger.domain.services.unit_of_work import ArtifactSession


@dataclass(frozen=True)
class CurrentLock:
    reason: str
    locked_by: str
    locked_at: str

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "locked_by": self.locked_by, "locked_at": self.locked_at}


@dataclass
class LockService:
    store: LedgerStore
    registry: Registry
    repository: str
    config: PromotionConfig
    clock: Clock
    records: RecordWriter = field(default_factory=NoRecords)
    reader: RecordReader = field(default_factory=NoRecordReader)
    tracer: Tracer = field(default_factory=NoopTracer)
    #: Records of other ledgers that failed verification during the last lock change.
    warnings: list[str] = field(default_factory=list, init=False)

    def lock(self, env: str, reason: str, actor: Actor) -> bool:
        """Lock ``env``; False if it was already locked (nothing recorded then)."""
        with self.tracer.span(SPAN_LOCK, {"environment": env, "reason": reason}):
            return self._change(env, reason, actor, locking=True)

    def unlock(self, env: str, reason: str, actor: Actor) -> bool:
        """Unlock ``env``; False if it was not locked (nothing recorded then)."""
        with self.tracer.span(SPAN_UNLOCK, {"environment": env, "reason": reason}):
            return self._change(env, reason, actor, locking=False)

    def current_lock(self, env: str, actor: Actor) -> CurrentLock | None:
        session = ArtifactSession(self.store, self.repository, actor, self.clock)
        lock = session.current().locks.get(env)
        if lock is None:
            return None
        return CurrentLock(lock.reason, lock.by, lock.at.isoformat())

    def _change(self, env: str, reason: str, actor: Actor, *, locking: bool) -> bool:
        self.config.path.index(env)
        self.warnings = []
        session = ArtifactSession(self.store, self.repository, actor, self.clock,
                                  anchor=head_anchor(self.registry, self.records, self.clock,
                                                     self.config.path.anchored_in(env)))
        try:
            return self._decide(session, env, reason, actor, locking=locking)
        finally:
            self.warnings += session.close()

    def _decide(self, session: ArtifactSession, env: str, reason: str, actor: Actor, *,
                locking: bool) -> bool:
        action = "lock" if locking else "unlock"
        try:
            authorize(self.config.environment(env).authorization, actor.who, action, env)
        except FloeError as err:
            session.refuse(err, action=action, target=env)
        self.warnings += reconcile(session, self.registry, self.reader,
                                   environment_tags([env])).warnings

        def change(a: Artifact) -> bool:
            return a.lock(env, reason, actor) if locking else a.unlock(env, reason, actor)
        changed = session.apply(change)
        own = session.current().own_lock_changes.get(env)
        if own is not None and own.locked == locking:
            # Changed now, or by this ledger in a run that may have died before its record
            # was written: publishing is idempotent (the record's id is the event's).
            self._publish(session, env, own)
        return changed

    def _publish(self, session: ArtifactSession, env: str, change: LockChange) -> None:
        """The lock record beside what ``env`` runs (with no subject if nothing runs there);
        ``floe-<env>-index`` names it."""
        live = session.current().live.get(env)
        record = {"kind": "lock", "lock_id": change.lock_id, "environment": env,
                  "reason": change.reason, "status": "locked" if change.locked else "unlocked",
                  "locked_at": change.at.isoformat(), **session.record_origin()}
        writer = RegistryWriter(self.registry, NoReplicas(), self.records, NoopTracer())
        writer.publish_record(live.digest if live else "", record)

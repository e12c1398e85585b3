"""The Artifact aggregate: one OCI repository and everything promoted in it.

Command methods check invariants and emit events; :meth:`Artifact.when` folds
every event into state. Refusals are raised as FloeError subclasses; the service
records them as PromotionRejected before re-raising.

    >>> art = Artifact.register("registry.example.com/acme/platform", actor=Actor("ci"))
    >>> art.repository
    'registry.example.com/acme/platform'
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from eventsourcing.utils import register_topic

from floe_ledger.domain import events as ev
from floe_ledger.domain.artifact_checks import ArtifactChecks
from floe_ledger.domain.artifact_id import artifact_id
from floe_ledger.domain.artifact_state import Actor, Live, Lock, Promotion, restore, snapshot
from floe_ledger.domain.errors import (
    FloeError,
    IntegrityError,
    TagExistsError,
)
from floe_ledger.domain.values import EnvironmentPath

if TYPE_CHECKING:
    from datetime import datetime


class Artifact(ArtifactChecks, BaseAggregate[UUID]):
    """Aggregate root for one OCI repository."""

    TOPIC: ClassVar[str] = ev.TOPIC_PREFIX + "Artifact"
    Event = ev.ArtifactEvent
    Created = ev.ArtifactRegistered

    def __init__(self, repository: str) -> None:
        self.repository = repository
        self.chain_head = ev.GENESIS
        self.versions: dict[str, str] = {}
        self.live: dict[str, Live] = {}
        self.promotions: dict[str, Promotion] = {}
        self.by_target: dict[tuple[str, str], str] = {}  # (version, env) -> latest promotion id
        self.rollbacks: dict[tuple[str, str], int] = {}
        self.locks: dict[str, Lock] = {}
        self.timeline: dict[str, list[Live]] = {}  # env -> what went live there, in order

    @staticmethod
    def create_id(repository: str) -> UUID:
        return artifact_id(repository)

    @classmethod
    def register(cls, repository: str, *, actor: Actor) -> Artifact:
        return cls._create(
            ev.ArtifactRegistered,
            repository=repository,
            prev_hash=ev.GENESIS,
            operator=actor.operator,
            trace_id=actor.trace_id,
        )

    def _emit(self, event_class: type[ev.ArtifactEvent], actor: Actor, **fields: Any) -> None:
        self.trigger_event(
            event_class,
            prev_hash=self.chain_head,
            operator=actor.operator,
            trace_id=actor.trace_id,
            **fields,
        )

    # ---- commands ---------------------------------------------------------------------

    def enter(self, env: str, break_glass: str | None, actor: Actor) -> None:
        """Refuse a locked environment, unless break-glass, which is recorded (the lock stays)."""
        lock = self.locks.get(env)
        if lock is None:
            return
        if not break_glass:
            self.check_not_locked(env)
        self._emit(ev.LockBroken, actor, environment=env, reason=str(break_glass),
                   lock_reason=lock.reason, locked_by=lock.by)

    def lock(self, env: str, reason: str, actor: Actor) -> bool:
        """Lock ``env``; False (and no event) if it is already locked."""
        if env in self.locks:
            return False
        self._emit(ev.EnvironmentLocked, actor, environment=env, reason=reason)
        return True

    def unlock(self, env: str, reason: str, actor: Actor) -> bool:
        """Unlock ``env``; False (and no event) if it was not locked."""
        if env not in self.locks:
            return False
        self._emit(ev.EnvironmentUnlocked, actor, environment=env, reason=reason)
        return True

    def roll_back(
        self, *, rollback_id: str, version: str, env: str, rollback_tag: str, sequence: int,
        reason: str, impact: dict[str, Any], registries: list[dict[str, Any]], actor: Actor,
    ) -> None:
        """Re-point ``env`` to ``version``, which must have been promoted there (FR-013)."""
        target = self.completed(version, env)
        assert target is not None, "checked by check_rollback"
        previous = self.live.get(env)
        self._emit(
            ev.RolledBack, actor, rollback_id=rollback_id, version=version, digest=target.digest,
            environment=env, previous_version=previous.version if previous else None,
            previous_digest=previous.digest if previous else None, rollback_tag=rollback_tag,
            sequence=sequence, reason=reason, impact=impact, registries=registries,
        )

    def observe_version(
        self, version: str, digest: str, env: str | None, tag: str, actor: Actor
    ) -> None:
        """Record where a version's digest was seen, refusing a digest that drifted."""
        known = self.versions.get(version)
        if known is not None and known != digest:
            raise IntegrityError(
                f"{tag} is {digest} in the registry but the ledger recorded {version} as {known}",
                hint="the tag was moved outside floe; run 'floe audit verify --registry'",
                details={"tag": tag, "registry_digest": digest, "ledger_digest": known},
            )
        if known is None:
            self._emit(ev.VersionObserved, actor, version=version, digest=digest,
                       environment=env, tag=tag)

    def request_promotion(
        self,
        *,
        promotion_id: str,
        version: str,
        digest: str,
        source: str | None,
        target: str,
        path: EnvironmentPath,
        force: bool,
        actor: Actor,
        owner: str = "",
        lease_until: datetime | None = None,
        authorization: dict[str, Any] | None = None,
        break_glass: str | None = None,
    ) -> None:
        path.check_transition(source, target)
        running = self.open_promotion(version, target)
        if running is not None:  # another runner decided first (we reloaded after losing)
            raise TagExistsError(
                f"{version} is being promoted to {target} by {running.operator} "
                f"(promotion {running.promotion_id})",
                hint="wait for it to finish; if it was interrupted, re-run with --force to "
                "resume it",
                details={"promotion_id": running.promotion_id, "owner": running.owner})
        self.enter(target, break_glass, actor)
        self.check_env_tag_free(version, target, force=force)
        self._emit(
            ev.PromotionRequested, actor, promotion_id=promotion_id, version=version,
            digest=digest, source_environment=source, target_environment=target, force=force,
            owner=owner, lease_until=lease_until, authorization=authorization or {},
        )

    def reject(
        self,
        error: FloeError,
        *,
        promotion_id: str,
        version: str,
        source: str | None,
        target: str,
        actor: Actor,
        action: str = "promote",
    ) -> None:
        cls = {"rollback": ev.RollbackRejected, "lock": ev.LockRejected,
               "unlock": ev.LockRejected}.get(action, ev.PromotionRejected)
        self._emit(
            cls, actor, promotion_id=promotion_id, version=version,
            source_environment=source, target_environment=target, code=error.code,
            exit_code=int(error.exit_code), reason=error.message, hint=error.hint,
            details=_jsonable(error.details),
        )

    def record_signature(
        self, promotion_id: str, digest: str, verdict: dict[str, Any], ok: bool, actor: Actor
    ) -> None:
        cls = ev.SignatureVerified if ok else ev.SignatureRejected
        self._emit(cls, actor, promotion_id=promotion_id, digest=digest, verdict=verdict)

    def record_gate(self, promotion_id: str, result: dict[str, Any], actor: Actor) -> None:
        cls = ev.GateFailed if result.get("status") == "failed" else ev.GatePassed
        self._emit(cls, actor, promotion_id=promotion_id, result=result)

    def record_tag(
        self, promotion_id: str, registry: str, tag: str, digest: str, *, mutable: bool,
        already_present: bool, actor: Actor,
    ) -> bool:
        """Record a tag write once; returns False if it was already recorded."""
        promo = self.promotions[promotion_id]
        if promo.tags.get((registry, tag)) == digest:
            return False
        self._emit(ev.TagWritten, actor, promotion_id=promotion_id, registry=registry, tag=tag,
                   digest=digest, mutable=mutable, already_present=already_present)
        return True

    def complete_promotion(
        self, promotion_id: str, *, registries: list[dict[str, Any]], actor: Actor,
        record_digest: str | None = None,
    ) -> None:
        promo = self.promotions[promotion_id]
        if promo.state != "open":
            return
        tags = sorted({tag for (_reg, tag) in promo.tags})
        self._emit(
            ev.PromotionCompleted, actor, promotion_id=promotion_id, version=promo.version,
            digest=promo.digest, source_environment=promo.source,
            target_environment=promo.target, tags=tags, registries=registries,
            gate_results=promo.gate_results, signature=promo.signature,
            record_digest=record_digest,
        )

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

    @when.register
    def _(self, event: ev.PromotionCompleted) -> None:
        promo = self.promotions[event.promotion_id]
        promo.state = "completed"
        promo.completed_at = event.timestamp
        self._go_live(promo.target, Live(promo.version, promo.digest, promo.operator,
                                         event.timestamp, "promotion", promo.promotion_id))

    @when.register
    def _(self, event: ev.RolledBack) -> None:
        self.rollbacks[(event.version, event.environment)] = event.sequence
        self._go_live(event.environment, Live(event.version, event.digest, event.operator,
                                              event.timestamp, "rollback", event.rollback_id))

    def _go_live(self, env: str, live: Live) -> None:
        self.live[env] = live
        self.timeline.setdefault(env, []).append(live)

    @when.register
    def _(self, event: ev.EnvironmentLocked) -> None:
        self.locks[event.environment] = Lock(event.reason, event.operator, event.timestamp)

    @when.register
    def _(self, event: ev.EnvironmentUnlocked) -> None:
        self.locks.pop(event.environment, None)


register_topic(Artifact.TOPIC, Artifact)

__all__ = ["Actor", "Artifact", "ArtifactSnapshot", "Live", "Lock", "Promotion"]


class ArtifactSnapshot(ev.ArtifactEvent):
    """The aggregate's state at a version, so loading need not replay the whole stream.

    A convenience cache: ``floe audit verify`` never reads snapshots, it replays events.
    The state carries ``chain_head``, so events appended after it still link.
    """

    TOPIC: ClassVar[str] = ev.TOPIC_PREFIX + "ArtifactSnapshot.v1"
    topic: str
    state: dict[str, Any]

    @classmethod
    def take(cls, aggregate: Artifact) -> ArtifactSnapshot:
        return cls(originator_id=aggregate.id, originator_version=aggregate.version,
                   timestamp=cls.create_timestamp(), topic=Artifact.TOPIC,
                   state=snapshot(aggregate), prev_hash=aggregate.chain_head)

    def mutate(self, aggregate: Any) -> Any:
        art = Artifact.__new__(Artifact)
        art.__base_init__(self.originator_id, self.originator_version, self.timestamp)
        restore(art, self.state)
        return art


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)

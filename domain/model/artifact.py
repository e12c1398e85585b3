"""The Artifact aggregate: one OCI repository and everything promoted in it.

Command methods check invariants and emit events; the state they decide on, and
:meth:`ArtifactState.when` that folds every event into it, live in ``state.py``, the checks
that refuse (``check_*``) in ``artifact_checks.py``.
Refusals are raised as FloeError subclasses; the application services record them
(PromotionRejected, RollbackRejected, LockRejected) before re-raising.

    >>> art = Artifact.register("registry.example.com/acme/platform", actor=Actor("ci"))
    >>> art.repository
    'registry.example.com/acme/platform'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from eventsourcing.utils import register_topic

from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.artifact_checks import ArtifactChecks
from floe_ledger.domain.model.artifact_id import artifact_id
from floe_ledger.domain.model.errors import FloeError, TagExistsError
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.records import ObservedRecord
from floe_ledger.domain.model.state import Live, Lock, Promotion
from floe_ledger.domain.model.values import EnvironmentPath

if TYPE_CHECKING:
    from datetime import datetime


class Artifact(ArtifactChecks, BaseAggregate[UUID]):
    """Aggregate root for one OCI repository."""

    TOPIC: ClassVar[str] = ev.TOPIC_PREFIX + "Artifact"
    Event = ev.ArtifactEvent
    Created = ev.ArtifactRegistered

    def __init__(self, repository: str) -> None:
        # Defined here, not only inherited: eventsourcing makes an aggregate class with
        # annotations a dataclass, which would otherwise replace it with an empty __init__.
        super().__init__(repository)

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
            identified_by=actor.identified_by,
        )

    def _emit(self, event_class: type[ev.ArtifactEvent], actor: Actor, **fields: Any) -> None:
        self.trigger_event(
            event_class,
            prev_hash=self.chain_head,
            operator=actor.operator,
            trace_id=actor.trace_id,
            identified_by=actor.identified_by,
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

    def request_rollback(self, *, rollback_id: str, version: str, digest: str, env: str,
                         rollback_tag: str, sequence: int, reason: str, impact: dict[str, Any],
                         actor: Actor) -> None:
        """Record the decision to roll ``env`` back before its tags are written (open until
        :meth:`roll_back`)."""
        previous = self.live.get(env)
        self._emit(ev.RollbackRequested, actor, rollback_id=rollback_id, version=version,
                   digest=digest, environment=env, rollback_tag=rollback_tag,
                   previous_version=previous.version if previous else None,
                   previous_digest=previous.digest if previous else None,
                   sequence=sequence, reason=reason, impact=impact)

    def roll_back(
        self, *, rollback_id: str, version: str, digest: str, env: str, rollback_tag: str,
        sequence: int, reason: str, impact: dict[str, Any], registries: list[dict[str, Any]],
        actor: Actor,
    ) -> None:
        """Re-point ``env`` to ``version`` at ``digest`` (from :meth:`check_rollback`, FR-013);
        nothing if this rollback is already recorded (two runs resumed it at once)."""
        previous = self.live.get(env)
        if previous is not None and previous.via == "rollback" and previous.ref_id == rollback_id:
            return
        self._emit(
            ev.RolledBack, actor, rollback_id=rollback_id, version=version, digest=digest,
            environment=env, previous_version=previous.version if previous else None,
            previous_digest=previous.digest if previous else None, rollback_tag=rollback_tag,
            sequence=sequence, reason=reason, impact=impact, registries=registries,
        )

    def observe_record(self, record: ObservedRecord, actor: Actor) -> None:
        """Fold what another ledger's verified record says; a record older than what this
        ledger knows of the environment is history, not the current state."""
        if record.digest in self.observed or record.ledger_id == self.ledger_id:
            return
        live = self.live.get(record.environment)
        goes_live = record.kind in ("promotion", "rollback") and (
            live is None or live.at < record.at)
        changed = self.lock_changed.get(record.environment)
        lock_effect = record.status if record.kind == "lock" and (
            changed is None or changed < record.at) else None
        self._emit(ev.RecordObserved, actor, record_digest=record.digest,
                   source_ledger=record.ledger_id, record_kind=record.kind,
                   record_id=record.record_id,
                   subject_digest=record.subject_digest, environment=record.environment,
                   version=record.version, source_environment=record.source_environment,
                   recorded_operator=record.operator, recorded_at=record.at,
                   status=record.status, reason=record.reason, sequence=record.sequence,
                   goes_live=goes_live, lock_effect=lock_effect,
                   recorded_identified_by=record.identified_by)

    def adopt(self, *, adoption_id: str, version: str, digest: str, env: str, tag: str,
              reason: str, actor: Actor) -> None:
        """Record that ``version`` passed ``env`` although floe did not promote it there."""
        done = self.completed(version, env)
        if done is not None:
            raise TagExistsError(
                f"{version} already passed {env} in this ledger (by {done.operator})",
                hint="nothing to adopt", details={"environment": env, "version": version})
        self.observe_version(version, digest, env, tag, actor)
        self._emit(ev.VersionAdopted, actor, adoption_id=adoption_id, version=version,
                   digest=digest, environment=env, tag=tag, reason=reason)

    def collect_tags(self, *, collection_id: str, registry: str, keep: int,
                     deleted: dict[str, str], absent: dict[str, str], environments: list[str],
                     actor: Actor) -> bool:
        """Record what ``floe gc`` deleted (and found gone); False (no event) if nothing."""
        if not deleted and not absent:
            return False
        self._emit(ev.TagsCollected, actor, collection_id=collection_id, registry=registry,
                   keep=keep, deleted=deleted, absent=absent, environments=environments)
        return True

    def observe_version(
        self, version: str, digest: str, env: str | None, tag: str, actor: Actor
    ) -> None:
        """Record where a version's digest was seen, refusing a digest that drifted."""
        if self.check_observed(version, digest, tag) is None:
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

    def record_gate(self, promotion_id: str, result: GateResult, actor: Actor) -> None:
        cls = ev.GateFailed if result.status is GateStatus.FAILED else ev.GatePassed
        self._emit(cls, actor, promotion_id=promotion_id, result=result.recorded())

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


register_topic(Artifact.TOPIC, Artifact)

__all__ = ["Actor", "Artifact", "Live", "Lock", "Promotion"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)

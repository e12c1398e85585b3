"""One version's way through the environments, and the replicas each environment's running
version reached: pure folds of decoded events, fed in notification order (``floe serve``).

    trail = VersionTrail("v1.2.3")
    for position, event in events:
        trail.feed(position, event)
    trail.steps          # [TrailStep(...)], one per promotion, rollback to it or record of it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.signature import signer


@dataclass
class TrailStep:
    """One attempt to bring the version into an environment (a promotion, a rollback to it,
    an adoption, or another ledger's record of one), as the ledger tells it."""

    kind: str  # promotion | rollback | adoption | record
    ref_id: str
    environment: str
    source: str | None
    digest: str
    operator: str
    identified_by: str | None
    at: str
    position: int
    state: str = "open"  # open | completed | rejected
    finished_at: str | None = None
    authorized_via: str | None = None
    authorization: dict[str, Any] = field(default_factory=dict)
    signature: dict[str, Any] = field(default_factory=dict)
    signer: str = ""
    gates: list[dict[str, Any]] = field(default_factory=list)
    registries: list[dict[str, Any]] = field(default_factory=list)
    record_digest: str | None = None
    reason: str = ""
    refusal_code: str = ""
    positions: list[int] = field(default_factory=list)  # every event of this step

    @property
    def gate_ms(self) -> int:
        return sum(int(g.get("duration_ms") or 0) for g in self.gates)


class VersionTrail:
    """Every step of ``version``, oldest first (:attr:`steps`)."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.steps: list[TrailStep] = []
        self.digest = ""
        self._by_id: dict[str, TrailStep] = {}

    def feed(self, position: int, event: ev.ArtifactEvent) -> None:
        pid = getattr(event, "promotion_id", None)
        step = self._by_id.get(pid) if pid else None
        if isinstance(event, ev.PromotionRequested) and event.version == self.version:
            self._open(position, event, "promotion", event.promotion_id, event.target_environment,
                       event.source_environment, event.digest)
            self._by_id[event.promotion_id].authorization = dict(event.authorization)
            self._by_id[event.promotion_id].authorized_via = event.authorization.get(
                "authorized_via")
        elif isinstance(event, ev.PromotionRejected) and event.version == self.version:
            step = step or self._open(position, event, "promotion", event.promotion_id,
                                      event.target_environment, event.source_environment, "")
            step.state, step.finished_at = "rejected", event.timestamp.isoformat()
            step.reason, step.refusal_code = event.reason, event.code
            step.positions.append(position)
        elif step is not None:
            self._promotion_event(step, position, event)
        elif isinstance(event, (ev.RollbackRequested, ev.RolledBack)) and \
                event.version == self.version:
            self._rollback(position, event)
        elif isinstance(event, ev.VersionAdopted) and event.version == self.version:
            s = self._open(position, event, "adoption", event.adoption_id, event.environment,
                           None, event.digest)
            s.state, s.reason = "completed", event.reason
        elif isinstance(event, ev.RecordObserved) and event.version == self.version \
                and event.record_kind != "lock":
            self._observed(position, event)

    def _open(self, position: int, event: ev.ArtifactEvent, kind: str, ref_id: str, env: str,
              source: str | None, digest: str) -> TrailStep:
        step = TrailStep(kind, ref_id, env, source, digest, event.operator, event.identified_by,
                         event.timestamp.isoformat(), position, positions=[position])
        self._by_id[ref_id] = step
        self.steps.append(step)
        self.digest = digest or self.digest
        return step

    def _promotion_event(self, step: TrailStep, position: int, event: ev.ArtifactEvent) -> None:
        step.positions.append(position)
        if isinstance(event, (ev.SignatureVerified, ev.SignatureRejected)):
            step.signature, step.signer = dict(event.verdict), signer(event.verdict)
        elif isinstance(event, (ev.GatePassed, ev.GateFailed)):
            step.gates.append(dict(event.result))
        elif isinstance(event, ev.PromotionCompleted):
            step.state, step.finished_at = "completed", event.timestamp.isoformat()
            step.registries, step.record_digest = list(event.registries), event.record_digest

    def _rollback(self, position: int, event: ev.RollbackRequested | ev.RolledBack) -> None:
        step = self._by_id.get(event.rollback_id) or self._open(
            position, event, "rollback", event.rollback_id, event.environment, None, event.digest)
        step.reason = event.reason
        if isinstance(event, ev.RolledBack):
            step.state, step.finished_at = "completed", event.timestamp.isoformat()
            step.registries = list(event.registries)
            if position not in step.positions:
                step.positions.append(position)

    def _observed(self, position: int, event: ev.RecordObserved) -> None:
        step = self._open(position, event, "record", event.record_id, event.environment,
                          event.source_environment, event.subject_digest)
        step.operator, step.identified_by = event.recorded_operator, event.recorded_identified_by
        step.at = step.finished_at = event.recorded_at.isoformat()
        step.state, step.record_digest = "completed", event.record_digest
        step.reason = f"{event.record_kind} recorded by ledger {event.source_ledger}"


@dataclass(frozen=True)
class LiveReplicas:
    """The replicas the running version of an environment was written to."""

    version: str
    registries: tuple[dict[str, Any], ...]


class ReplicaFold:
    """Per environment, the registries the change that made its version live reached
    (``PromotionCompleted.registries`` / ``RolledBack.registries``; another ledger's record
    names none)."""

    def __init__(self) -> None:
        self.live: dict[str, LiveReplicas] = {}

    def feed(self, event: ev.ArtifactEvent) -> None:
        if isinstance(event, ev.PromotionCompleted):
            self.live[event.target_environment] = LiveReplicas(event.version,
                                                               tuple(event.registries))
        elif isinstance(event, ev.RolledBack):
            self.live[event.environment] = LiveReplicas(event.version, tuple(event.registries))
        elif isinstance(event, ev.RecordObserved) and event.goes_live:
            self.live[event.environment] = LiveReplicas(event.version or "", ())

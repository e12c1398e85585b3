"""The promotion flow: decide, verify, gate, write tags, complete. Dry-run shares it.

    service = PromotionService(store, registry, repository, config.promotion)
    result = service.promote(PromoteRequest("v1.2.3", "dev", "staging"), actor)

Every refusal is recorded as PromotionRejected before it is raised (not in dry-run).
Registry outages before the decision raise without writing anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NoReturn

from floe_ledger.domain.artifact import Actor, Artifact, Promotion
from floe_ledger.domain.authorization import authorize, check_separation_of_duties
from floe_ledger.domain.config import PromotionConfig
from floe_ledger.domain.errors import (
    ConcurrencyError,
    FloeError,
    InvalidTransitionError,
    TagExistsError,
)
from floe_ledger.domain.hooks import (
    Clock,
    GateRunner,
    NoGates,
    NoRecords,
    NoReplicas,
    NoSignatureCheck,
    ProcessProbe,
    RecordWriter,
    Replication,
    SignatureCheck,
    SystemClock,
)
from floe_ledger.domain.ports import LedgerStore, Registry
from floe_ledger.domain.promote_steps import PromotionSteps
from floe_ledger.domain.promote_types import PromoteRequest, PromoteResult, estimate_gates
from floe_ledger.domain.resolve import SourceResolution, check_target_tag, resolve_source
from floe_ledger.domain.tracing import (
    SPAN_PROMOTE,
    SPAN_VERIFY,
    NoopTracer,
    Tracer,
)
from floe_ledger.domain.values import Version, env_tag, latest_tag, strip_env_suffix

__all__ = ["PromoteRequest", "PromoteResult", "PromotionService"]

MAX_RETRIES = 16


@dataclass
class PromotionService(PromotionSteps):
    """Application service for promotions of one repository."""

    store: LedgerStore
    registry: Registry
    repository: str
    config: PromotionConfig
    signatures: SignatureCheck = field(default_factory=NoSignatureCheck)
    gates: GateRunner = field(default_factory=NoGates)
    records: RecordWriter = field(default_factory=NoRecords)
    replicas: Replication = field(default_factory=NoReplicas)
    probe: ProcessProbe | None = None
    clock: Clock = field(default_factory=SystemClock)
    tracer: Tracer = field(default_factory=NoopTracer)
    _artifact: Artifact | None = field(default=None, init=False, repr=False)

    # ---- entry point -----------------------------------------------------------------

    def promote(self, req: PromoteRequest, actor: Actor) -> PromoteResult:
        """Promote ``req.version``; a refusal raises a FloeError after it is recorded."""
        attrs = {"artifact_ref": f"{self.repository}:{req.version}", "from_env": req.source,
                 "to_env": req.target, "dry_run": req.dry_run}
        with self.tracer.span(SPAN_PROMOTE, attrs) as span:
            result = self._promote(req, actor)
            span.set_attribute("promotion_id", result.promotion_id)
            span.set_attribute("artifact_digest", result.digest)
            return result

    def _promote(self, req: PromoteRequest, actor: Actor) -> PromoteResult:
        path = self.config.path
        version = strip_env_suffix(req.version, path.names)
        Version.parse(version)
        path.index(req.target)
        if req.source is not None:
            path.index(req.source)
        pid = str(uuid.uuid4())
        self._artifact = None
        artifact = self._current(actor)
        refuse = self._refuser(req, version, pid, actor)

        try:
            path.check_transition(req.source, req.target)
        except InvalidTransitionError as err:
            refuse(err)
        resumable = self._resumable(artifact, version, req)
        if resumable is not None:
            return self._finish(resumable, req, actor, resumed=True)
        try:
            authorization = self._check_entry(artifact, version, req, actor)
            artifact.check_env_tag_free(version, req.target, force=req.force)
            source = resolve_source(self.registry, artifact, version, req.source, path.names)
            target_state = check_target_tag(self.registry, version, req.target, source.digest,
                                            force=req.force)
        except FloeError as err:
            if err.exit_code == 5:  # registry unavailable: no decision was made
                raise
            refuse(err)
        if target_state == "present" and artifact.completed(version, req.target):
            return self._already_done(artifact, req, version, source)
        artifact = self._decide(req, version, pid, source, actor, authorization)
        return self._finish(artifact.promotions[pid], req, actor, target_state=target_state)

    # ---- steps -----------------------------------------------------------------------

    def _load(self, actor: Actor) -> Artifact:
        return self.store.load(self.repository) or Artifact.register(self.repository, actor=actor)

    def _current(self, actor: Actor) -> Artifact:
        """The aggregate as this command last saved it (loaded once, reloaded after a race)."""
        if self._artifact is None:
            self._artifact = self._load(actor)
        return self._artifact

    def _refuser(self, req: PromoteRequest, version: str, pid: str,
                 actor: Actor) -> Callable[[FloeError], NoReturn]:
        def refuse(err: FloeError) -> NoReturn:
            if not req.dry_run:
                def record(art: Artifact) -> None:
                    art.reject(err, promotion_id=pid, version=version, source=req.source,
                               target=req.target, actor=actor)
                self._append(record, actor)
            raise err
        return refuse

    def _append(self, change: Callable[[Artifact], None], actor: Actor) -> Artifact:
        """Apply ``change`` and save; on a lost race reload, re-decide and retry.

        A change that raises leaves nothing pending: the in-memory aggregate is dropped.
        """
        for attempt in range(MAX_RETRIES):
            art = self._current(actor)
            try:
                change(art)
                self.store.save(art)
                return art
            except ConcurrencyError:
                self._artifact = None
                if attempt == MAX_RETRIES - 1:
                    raise
                self.clock.pause(attempt)
            except BaseException:
                self._artifact = None
                raise
        raise AssertionError("unreachable")

    def _resumable(self, artifact: Artifact, version: str, req: PromoteRequest) -> Promotion | None:
        """An open promotion of the same version into the same environment, if it may be
        finished by this process: its owner is gone, its lease ran out, or --force."""
        promo = artifact.open_promotion(version, req.target)
        if promo is None:
            return None
        alive = self.probe.alive(promo.owner) if (self.probe and promo.owner) else None
        expired = promo.lease_until is not None and self.clock.now() > promo.lease_until
        if req.force or alive is False or expired:
            return promo
        raise TagExistsError(
            f"{version} is being promoted to {req.target} by {promo.operator} "
            f"(promotion {promo.promotion_id}, since {promo.requested_at.isoformat()})",
            hint="wait for it to finish; if it was interrupted, re-run with --force to resume",
            details={"promotion_id": promo.promotion_id, "owner": promo.owner},
        )

    def _check_entry(self, artifact: Artifact, version: str, req: PromoteRequest,
                     actor: Actor) -> dict[str, Any]:
        """Lock (unless break-glass), authorization and separation of duties."""
        if not req.break_glass:
            artifact.check_not_locked(req.target)
        policy = self.config.environment(req.target).authorization
        decision = authorize(policy, actor.who, "promote to", req.target)
        previous = artifact.completed(version, req.source) if req.source else None
        check_separation_of_duties(policy, actor.who, previous.operator if previous else None,
                                   version, req.source, req.target)
        return decision.as_dict()

    def _decide(self, req: PromoteRequest, version: str, pid: str, source: SourceResolution,
                actor: Actor, authorization: dict[str, Any]) -> Artifact:
        lease = timedelta(seconds=120 + self._gate_budget(req.target))
        owner = self.probe.owner() if self.probe else ""

        def decide(art: Artifact) -> None:
            art.observe_version(version, source.digest, req.source, source.tag, actor)
            art.request_promotion(
                promotion_id=pid, version=version, digest=source.digest, source=req.source,
                target=req.target, path=self.config.path, force=req.force, actor=actor,
                owner=owner, lease_until=self.clock.now() + lease,
                authorization=authorization, break_glass=req.break_glass,
            )

        if req.dry_run:
            artifact = self._load(actor)  # a scratch copy: nothing it emits is saved
            decide(artifact)
            return artifact
        try:
            return self._append(decide, actor)
        except FloeError as err:
            if isinstance(err, ConcurrencyError):
                raise
            self._refuser(req, version, pid, actor)(err)
            raise

    def _gate_budget(self, target: str) -> int:
        env = self.config.environment(target)
        return env.gate_timeout_seconds * max(1, len(self.gates.gate_names(target)))

    def _finish(self, promo: Promotion, req: PromoteRequest, actor: Actor, *,
                target_state: str | None = None, resumed: bool = False) -> PromoteResult:
        """Verify, gate, tag, complete. ``target_state`` is what this command already saw of
        the immutable env tag (``absent``/``present``), so it is not looked up again."""
        result = PromoteResult(
            promotion_id=promo.promotion_id, version=promo.version, digest=promo.digest,
            artifact_tag=promo.version if promo.source is None else env_tag(promo.version,
                                                                            promo.source),
            source=promo.source, target=promo.target, dry_run=req.dry_run, resumed=resumed,
            target_state=target_state,
        )
        manifest = self.registry.get_manifest(promo.digest)
        with self.tracer.span(SPAN_VERIFY, {}) as span:
            self._verify(promo, req, actor, result)
            span.set_attribute("enforcement_mode", str(result.signature.get("enforcement")))
            span.set_attribute("cached", bool(result.signature.get("cached")))
        self._run_gates(promo, req, actor, result, manifest)
        if req.dry_run:
            result.tags = [env_tag(promo.version, promo.target), latest_tag(promo.target)]
            result.estimate = estimate_gates(self._current(actor).gate_durations(),
                                             self.gates.gate_names(promo.target))
            return result
        self._write_tags(promo, manifest, actor, result)
        self._complete(promo, actor, result)
        return result

    def _already_done(self, artifact: Artifact, req: PromoteRequest, version: str,
                      source: SourceResolution) -> PromoteResult:
        done = artifact.completed(version, req.target)
        assert done is not None
        return PromoteResult(
            promotion_id=done.promotion_id, version=version, digest=done.digest,
            artifact_tag=source.tag, source=req.source, target=req.target,
            tags=[env_tag(version, req.target)], gate_results=done.gate_results,
            signature=done.signature, dry_run=req.dry_run, nothing_written=True,
        )

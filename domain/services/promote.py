"""Promote a version from one environment to the next: check, decide, then run the promotion.

    service = PromotionService(store, registry, repository, config.promotion, clock=clock)
    result = service.promote(PromoteRequest("v1.2.3", "dev", "staging"), actor)

This module decides (transition, lock, authorization, separation of duties, the source tag
and the target tag) and records the decision; :class:`PromotionRun` then verifies, gates,
tags and completes it. Every refusal is recorded as PromotionRejected before it is raised
(not in dry-run). Registry outages before the decision raise without writing anything; the
source manifest is read before the decision, so a registry that fails or lies there leaves
no open promotion behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from floe_ledger.domain.model.artifact import Artifact, Promotion
from floe_ledger.domain.model.authorization import authorize_entry, check_separation_of_duties
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import (
    ConcurrencyError,
    ExitCode,
    FloeError,
    TagExistsError,
)
from floe_ledger.domain.model.gate_results import GateResult
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.oci import Descriptor, Manifest
from floe_ledger.domain.model.values import (
    Version,
    env_index_tag,
    env_tag,
    latest_tag,
    strip_env_suffix,
)
from floe_ledger.domain.services.command_reads import CommandReads
from floe_ledger.domain.services.ports import (
    Clock,
    GateRunner,
    LedgerStore,
    NoGates,
    NoRecordReader,
    NoRecords,
    NoReplicas,
    NoSignatureCheck,
    ProcessProbe,
    RecordReader,
    RecordWriter,
    Registry,
    Replication,
    SignatureCheck,
)
from floe_ledger.domain.services.promotion_run import PromotionRun
from floe_ledger.domain.services.reconcile import reconcile
from floe_ledger.domain.services.registry_writes import RegistryWriter, head_anchor
from floe_ledger.domain.services.requests import PromoteRequest, PromoteResult
from floe_ledger.domain.services.resolve import (
    SourceResolution,
    check_target_tag,
    resolve_source,
    source_tag,
)
from floe_ledger.domain.services.tracing import SPAN_PROMOTE, NoopTracer, Tracer
from floe_ledger.domain.services.unit_of_work import ArtifactSession, identify_refusal

__all__ = ["PromoteRequest", "PromoteResult", "PromotionService"]


@dataclass
class PromotionService:
    """Application service for promotions of one repository."""

    store: LedgerStore
    registry: Registry
    repository: str
    config: PromotionConfig
    clock: Clock
    signatures: SignatureCheck = field(default_factory=NoSignatureCheck)
    gates: GateRunner = field(default_factory=NoGates)
    records: RecordWriter = field(default_factory=NoRecords)
    reader: RecordReader = field(default_factory=NoRecordReader)
    replicas: Replication = field(default_factory=NoReplicas)
    probe: ProcessProbe | None = None
    tracer: Tracer = field(default_factory=NoopTracer)

    def promote(self, req: PromoteRequest, actor: Actor) -> PromoteResult:
        """Promote ``req.version``; a refusal raises a FloeError after it is recorded.

        The command reads the registry through one :class:`CommandReads`: what it read or
        wrote is not asked again, and the source tag is read with its manifest."""
        try:
            fetch = [source_tag(strip_env_suffix(req.version, self.config.path.names,
                                                 req.source), req.source)]
        except FloeError:
            fetch = []  # refused below, where a refusal is recorded
        reads = CommandReads(self.registry, fetch=fetch)
        return replace(self, registry=reads)._promote_command(req, actor)

    def _promote_command(self, req: PromoteRequest, actor: Actor) -> PromoteResult:
        attrs = {"artifact_ref": f"{self.repository}:{req.version}", "from_env": req.source,
                 "to_env": req.target, "dry_run": req.dry_run}
        session = ArtifactSession(self.store, self.repository, actor, self.clock,
                                  anchor=head_anchor(self.registry, self.records, self.clock,
                                                     self.config.path.anchored_in(req.target)))
        with self.tracer.span(SPAN_PROMOTE, attrs) as span:
            try:
                result = self._promote(req, actor, session)
            finally:
                anchored = session.close()
            result.warnings += anchored
            span.set_attribute("promotion_id", result.promotion_id)
            span.set_attribute("artifact_digest", result.digest)
            return result

    def _promote(self, req: PromoteRequest, actor: Actor,
                 session: ArtifactSession) -> PromoteResult:
        path = self.config.path
        path.index(req.target)
        if req.source is not None:
            path.index(req.source)
        version = strip_env_suffix(req.version, path.names, req.source)
        Version.parse(version)
        pid = self.clock.new_id()
        digest: str | None = None  # once the source tag is resolved

        def refuse(err: FloeError) -> FloeError:
            if req.dry_run:
                identify_refusal(err, "promote", pid,
                                 digest or session.current().versions.get(version))
                return err
            session.refuse(err, action="promote", target=req.target, version=version,
                           source=req.source, ref_id=pid, digest=digest)

        try:  # what needs no registry: the path, and who may enter the target
            path.check_transition(req.source, req.target)
            authorization = authorize_entry(
                self.config.environment(req.target).authorization, actor.who, "promote to",
                req.target, break_glass=req.break_glass).as_dict()  # break-glass: authenticated
        except FloeError as err:
            raise refuse(err) from None
        reconciled = reconcile(session, self.registry, self.reader, [
            source_tag(version, req.source), env_index_tag(req.target), latest_tag(req.target)],
            also=[env_tag(version, req.target)])  # checked below: read in the same round
        warnings = reconciled.warnings
        artifact = session.current()
        try:  # a resumed promotion passes the same checks, for whoever resumes it
            self._check_entry(artifact, version, req, actor)
        except FloeError as err:
            raise refuse(err) from None
        resumable = self._resumable(artifact, version, req)
        if resumable is not None:
            if req.break_glass and not req.dry_run:  # entering a locked env is recorded
                session.apply(lambda a: a.enter(req.target, req.break_glass, actor))
            return _warned(self._run(session, resumable, req, resumed=True,
                                     seen=reconciled.resolved), warnings)
        try:
            artifact.check_env_tag_free(version, req.target, force=req.force)
            source = resolve_source(self.registry, artifact, version, req.source, path.names,
                                    resolved=reconciled.resolved,
                                    trusted=req.source is None
                                    or self.config.trusts_unrecorded_tags(req.source))
            digest = source.digest
            artifact.check_observed(version, source.digest, source.tag)
            target_state = check_target_tag(self.registry, version, req.target, source.digest,
                                            force=req.force, resolved=reconciled.resolved)
        except FloeError as err:
            if err.exit_code == ExitCode.REGISTRY_UNAVAILABLE:  # no decision was made
                raise
            raise refuse(err) from None
        if target_state == "present" and artifact.completed(version, req.target):
            return _warned(_already_done(artifact, req, version, source), warnings)
        try:  # read before deciding: a registry failing here leaves no open promotion behind
            manifest = self.registry.get_manifest(source.digest)
        except FloeError as err:
            if err.exit_code == ExitCode.REGISTRY_UNAVAILABLE:
                raise
            raise refuse(err) from None
        try:
            promo = self._decide(session, req, version, pid, source, authorization)
        except ConcurrencyError:
            raise
        except FloeError as err:
            raise refuse(err) from None
        return _warned(self._run(session, promo, req, target_state=target_state,
                                 manifest=manifest, seen=reconciled.resolved), warnings)


    def _run(self, session: ArtifactSession, promo: Promotion, req: PromoteRequest, *,
             target_state: str | None = None, resumed: bool = False,
             manifest: Manifest | None = None,
             seen: Mapping[str, Descriptor | None] | None = None) -> PromoteResult:
        writer = RegistryWriter(self.registry, self.replicas, self.records, self.tracer)
        run = PromotionRun(session, self.registry, self.repository, self.signatures,
                           self.gates, writer, self.tracer)
        return run.run(promo, req, target_state=target_state, resumed=resumed,
                       manifest=manifest, seen=seen)

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
                     actor: Actor) -> None:
        """Lock (unless break-glass) and separation of duties, on the reconciled ledger."""
        if not req.break_glass:
            artifact.check_not_locked(req.target)
        policy = self.config.environment(req.target).authorization
        previous = artifact.completed(version, req.source) if req.source else None
        check_separation_of_duties(
            policy, actor.who, previous.operator if previous else None, version, req.source,
            req.target, previous.authorization.get("principal") if previous else None)

    def _decide(self, session: ArtifactSession, req: PromoteRequest, version: str, pid: str,
                source: SourceResolution, authorization: dict[str, Any]) -> Promotion:
        """Record the decision (VersionObserved, PromotionRequested); dry-run decides on a
        scratch copy that is never saved."""
        actor = session.actor
        lease = timedelta(seconds=120 + self._gate_budget(req.target))
        owner = self.probe.owner() if self.probe else ""

        def decide(art: Artifact) -> Promotion:
            art.observe_version(version, source.digest, req.source, source.tag, actor)
            art.request_promotion(
                promotion_id=pid, version=version, digest=source.digest, source=req.source,
                target=req.target, path=self.config.path, force=req.force, actor=actor,
                owner=owner, lease_until=self.clock.now() + lease,
                authorization=authorization, break_glass=req.break_glass,
            )
            return art.promotions[pid]

        if req.dry_run:
            return decide(session.scratch())
        return session.apply(decide)

    def _gate_budget(self, target: str) -> int:
        env = self.config.environment(target)
        return env.gate_timeout_seconds * max(1, len(self.gates.gate_names(target)))


def _warned(result: PromoteResult, warnings: list[str]) -> PromoteResult:
    result.warnings[:0] = [w for w in warnings if w not in result.warnings]
    return result


def _already_done(artifact: Artifact, req: PromoteRequest, version: str,
                  source: SourceResolution) -> PromoteResult:
    done = artifact.completed(version, req.target)
    assert done is not None
    return PromoteResult(
        promotion_id=done.promotion_id, version=version, digest=done.digest,
        artifact_tag=source.tag, source=req.source, target=req.target,
        tags=[env_tag(version, req.target)],
        gate_results=[GateResult.model_validate(g) for g in done.gate_results],
        signature=done.signature, dry_run=req.dry_run, nothing_written=True,
    )

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
    GateFailedError,
    InvalidTransitionError,
    SignatureError,
    TagExistsError,
)
from floe_ledger.domain.hooks import (
    Clock,
    GateContext,
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
from floe_ledger.domain.ports import LedgerStore, Manifest, Registry
from floe_ledger.domain.resolve import SourceResolution, check_target_tag, resolve_source
from floe_ledger.domain.tracing import (
    SPAN_PROMOTE,
    SPAN_TAG_WRITE,
    SPAN_VERIFY,
    NoopTracer,
    Tracer,
)
from floe_ledger.domain.values import Version, env_tag, latest_tag, strip_env_suffix

MAX_RETRIES = 8


@dataclass(frozen=True)
class PromoteRequest:
    version: str
    source: str | None
    target: str
    force: bool = False
    dry_run: bool = False
    use_cache: bool = True
    break_glass: str | None = None


@dataclass
class PromoteResult:
    promotion_id: str
    version: str
    digest: str
    artifact_tag: str
    source: str | None
    target: str
    tags: list[str] = field(default_factory=list)
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    registries: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    resumed: bool = False
    nothing_written: bool = False
    blocking: list[dict[str, Any]] = field(default_factory=list)
    record_digest: str | None = None
    pending_tag: tuple[str, bool] | None = field(default=None, repr=False)


@dataclass
class PromotionService:
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
        return self._finish(artifact.promotions[pid], req, actor, artifact=artifact)

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
                artifact: Artifact | None = None, resumed: bool = False) -> PromoteResult:
        result = PromoteResult(
            promotion_id=promo.promotion_id, version=promo.version, digest=promo.digest,
            artifact_tag=promo.version if promo.source is None else env_tag(promo.version,
                                                                            promo.source),
            source=promo.source, target=promo.target, dry_run=req.dry_run, resumed=resumed,
        )
        manifest = self.registry.get_manifest(promo.digest)
        with self.tracer.span(SPAN_VERIFY, {}) as span:
            self._verify(promo, req, actor, result)
            span.set_attribute("enforcement_mode", str(result.signature.get("enforcement")))
            span.set_attribute("cached", bool(result.signature.get("cached")))
        self._run_gates(promo, req, actor, result)
        if req.dry_run:
            result.tags = [env_tag(promo.version, promo.target), latest_tag(promo.target)]
            return result
        self._write_tags(promo, manifest, actor, result)
        self._complete(promo, actor, result)
        return result

    def _verify(self, promo: Promotion, req: PromoteRequest, actor: Actor,
                result: PromoteResult) -> None:
        if promo.signature and promo.signature.get("status") in ("verified", "skipped"):
            result.signature = promo.signature  # resumed: already decided
            return
        outcome = self.signatures.check(self.registry, promo.digest, use_cache=req.use_cache)
        verdict = dict(outcome.verdict, decision=outcome.decision)
        result.signature = verdict
        if outcome.decision == "warn":
            result.warnings.append(outcome.message or "signature not verified (warn mode)")
        ok = outcome.decision != "refuse"
        if not req.dry_run:
            self._append(lambda a: a.record_signature(promo.promotion_id, promo.digest, verdict,
                                                      ok, actor), actor)
        if not ok:
            err = SignatureError(
                f"signature verification failed for {promo.digest}: {outcome.message}",
                hint="sign it with 'floe artifact sign', or check "
                "artifacts.registry.verification (public_keys, trusted_issuers)",
                details={"verdict": verdict},
            )
            self._block(err, promo, req, actor, result)

    def _run_gates(self, promo: Promotion, req: PromoteRequest, actor: Actor,
                   result: PromoteResult) -> None:
        if promo.gate_results and all(g.get("status") != "failed" for g in promo.gate_results):
            result.gate_results = list(promo.gate_results)  # resumed: gates already passed
            return
        context = GateContext(
            repository=self.repository, artifact_ref=f"{self.registry.uri}@{promo.digest}",
            digest=promo.digest, version=promo.version, tag=result.artifact_tag,
            source=promo.source, target=promo.target, registry=self.registry,
            signature=result.signature,
        )
        results = self.gates.run(context)
        result.gate_results = results
        if not req.dry_run:
            def record(art: Artifact) -> None:
                for gate in results:
                    art.record_gate(promo.promotion_id, gate, actor)
            if results:
                self._append(record, actor)
        failed = [g for g in results if g.get("status") == "failed"]
        for g in results:
            if g.get("status") == "warning":
                result.warnings.append(f"gate {g.get('gate')}: warning")
        if failed:
            names = ", ".join(str(g.get("gate")) for g in failed)
            err = GateFailedError(
                f"gate {names} failed: {failed[0].get('error') or 'see gate_results'}",
                hint="promotion aborted, artifact not tagged; fix the cause and re-run",
                details={"failed_gates": [g.get("gate") for g in failed]},
            )
            self._block(err, promo, req, actor, result)

    def _block(self, err: FloeError, promo: Promotion, req: PromoteRequest, actor: Actor,
               result: PromoteResult) -> None:
        result.blocking.append({"code": err.code, "exit_code": int(err.exit_code),
                                "message": err.message, "hint": err.hint, "details": err.details})
        if req.dry_run:
            return
        self._append(lambda a: a.reject(err, promotion_id=promo.promotion_id,
                                        version=promo.version, source=promo.source,
                                        target=promo.target, actor=actor), actor)
        err.details.setdefault("gate_results", result.gate_results)
        raise err

    def _write_tags(self, promo: Promotion, manifest: Manifest, actor: Actor,
                    result: PromoteResult) -> None:
        """Write the tags to the primary while the replicas copy and tag (FR-028)."""
        tags = [env_tag(promo.version, promo.target), latest_tag(promo.target)]
        job = self.replicas.start(self.registry, promo.digest, tags, manifest=manifest,
                                  immutable=tags[:1])
        try:
            for tag, mutable in ((tags[0], False), (tags[1], True)):
                present = self._write_primary_tag(promo, manifest, tag, mutable)
                if not mutable:
                    self._record_tag(promo, tag, mutable, present, actor)
                else:  # recorded with the completion, in one commit
                    result.pending_tag = (tag, present)
                result.tags.append(tag)
        finally:
            replicas = job.wait()  # bounded; joined even if the primary failed
        result.registries = [{"uri": self.registry.uri, "status": "ok", "error": None,
                              "tags": tags}, *replicas]
        _warn_replicas(replicas, result)

    def _write_primary_tag(self, promo: Promotion, manifest: Manifest, tag: str,
                           mutable: bool) -> bool:
        """PUT ``tag`` unless it already names the digest; returns whether it did already."""
        if promo.tags.get((self.registry.uri, tag)) == promo.digest:
            return True
        current = self.registry.resolve(tag)
        present = current is not None and current.digest == promo.digest
        if current is not None and not present and not mutable:
            raise TagExistsError(
                f"{tag} appeared pointing at {current.digest} while promoting "
                f"{promo.digest}", hint="immutable tags are never re-pointed",
                details={"tag": tag, "existing_digest": current.digest})
        if not present:
            with self.tracer.span(SPAN_TAG_WRITE, {"tag": tag, "registry": self.registry.uri}):
                self.registry.put_manifest(tag, manifest)
        return present

    def _record_tag(self, promo: Promotion, tag: str, mutable: bool, present: bool,
                    actor: Actor) -> None:
        def record(art: Artifact) -> None:
            art.record_tag(promo.promotion_id, self.registry.uri, tag, promo.digest,
                           mutable=mutable, already_present=present, actor=actor)
        self._append(record, actor)

    def _complete(self, promo: Promotion, actor: Actor, result: PromoteResult) -> None:
        record = {"promotion_id": promo.promotion_id, "version": promo.version,
                  "digest": promo.digest, "source_environment": promo.source,
                  "target_environment": promo.target, "tags": result.tags,
                  "operator": actor.operator, "trace_id": actor.trace_id,
                  "gate_results": result.gate_results, "signature": result.signature,
                  "authorization": promo.authorization, "ledger_head": self._head(actor)}
        result.record_digest = self.records.write(self.registry, promo.digest, record)
        if result.record_digest and len(result.registries) > 1:  # the record travels too
            replicas = self.replicas.push_companions(self.registry, promo.digest,
                                                     result.registries[1:])
            result.registries = [result.registries[0], *replicas]
            _warn_replicas(replicas, result)

        def complete(art: Artifact) -> None:
            if result.pending_tag is not None:
                tag, present = result.pending_tag
                art.record_tag(promo.promotion_id, self.registry.uri, tag, promo.digest,
                               mutable=True, already_present=present, actor=actor)
            art.complete_promotion(promo.promotion_id, registries=result.registries,
                                   actor=actor, record_digest=result.record_digest)
        self._append(complete, actor)

    def _head(self, actor: Actor) -> dict[str, Any]:
        art = self._current(actor)
        return {"artifact_id": str(art.id), "version": art.version, "hash": art.chain_head}

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



def _warn_replicas(replicas: list[dict[str, Any]], result: PromoteResult) -> None:
    """FR-030: a failed replica is a warning; the promotion stands."""
    for r in replicas:
        if r.get("status") != "ok":
            warning = (f"replica {r.get('uri')} not updated: {r.get('error')} "
                       "(run 'floe platform sync')")
            if warning not in result.warnings:
                result.warnings.append(warning)

"""The promotion steps after the decision: verify, gate, write tags, complete.

:class:`PromotionSteps` is mixed into :class:`floe_ledger.domain.promote.PromotionService`;
it uses the service's ports and its ``_append`` (save, re-deciding after a lost race).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from floe_ledger.domain.artifact import Actor, Artifact, Promotion
from floe_ledger.domain.errors import (
    FloeError,
    GateFailedError,
    SignatureError,
    TagExistsError,
)
from floe_ledger.domain.hooks import (
    GateContext,
    GateRunner,
    RecordWriter,
    Replication,
    SignatureCheck,
)
from floe_ledger.domain.ports import Manifest, Registry
from floe_ledger.domain.promote_types import PromoteRequest, PromoteResult
from floe_ledger.domain.tracing import SPAN_TAG_WRITE, Tracer
from floe_ledger.domain.values import env_tag, latest_tag


class PromotionSteps:
    """Verify, gate, tag and complete one promotion (the service provides the ports)."""

    if TYPE_CHECKING:
        registry: Registry
        repository: str
        signatures: SignatureCheck
        gates: GateRunner
        records: RecordWriter
        replicas: Replication
        tracer: Tracer

        def _append(self, change: Callable[[Artifact], None], actor: Actor) -> Artifact: ...
        def _current(self, actor: Actor) -> Artifact: ...

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
        if not req.dry_run and not ok:
            self._append(lambda a: a.record_signature(promo.promotion_id, promo.digest, verdict,
                                                      ok, actor), actor)
        elif not req.dry_run:
            result.pending_signature = verdict  # saved with the gate results, in one commit
        if not ok:
            err = SignatureError(
                f"signature verification failed for {promo.digest}: {outcome.message}",
                hint="sign it with 'floe artifact sign', or check "
                "artifacts.registry.verification (public_keys, trusted_issuers)",
                details={"verdict": verdict},
            )
            self._block(err, promo, req, actor, result)

    def _run_gates(self, promo: Promotion, req: PromoteRequest, actor: Actor,
                   result: PromoteResult, manifest: Manifest | None = None) -> None:
        if promo.gate_results and all(g.get("status") != "failed" for g in promo.gate_results):
            result.gate_results = list(promo.gate_results)  # resumed: gates already passed
            if result.pending_signature is not None:
                self._append(lambda a: self._record_checks(a, promo, result, [], actor), actor)
            return
        context = GateContext(
            repository=self.repository, artifact_ref=f"{self.registry.uri}@{promo.digest}",
            digest=promo.digest, version=promo.version, tag=result.artifact_tag,
            source=promo.source, target=promo.target, registry=self.registry,
            signature=result.signature, manifest=manifest,
        )
        results = self.gates.run(context)
        result.gate_results = results
        if not req.dry_run and (results or result.pending_signature is not None):
            self._append(lambda a: self._record_checks(a, promo, result, results, actor), actor)
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

    @staticmethod
    def _record_checks(art: Artifact, promo: Promotion, result: PromoteResult,
                       gates: list[dict[str, Any]], actor: Actor) -> None:
        """The signature verdict and the gate results, appended together."""
        if result.pending_signature is not None:
            art.record_signature(promo.promotion_id, promo.digest, result.pending_signature,
                                 True, actor)
        for gate in gates:
            art.record_gate(promo.promotion_id, gate, actor)

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
                seen = None if mutable else result.target_state
                present = self._write_primary_tag(promo, manifest, tag, mutable, seen)
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
                           mutable: bool, seen: str | None = None) -> bool:
        """PUT ``tag`` unless it already names the digest; returns whether it did already.

        ``seen`` is the state this command already checked (the immutable tag, just before
        deciding); the registry is asked again only when it is unknown (a resumed run).
        """
        if promo.tags.get((self.registry.uri, tag)) == promo.digest:
            return True
        if seen is not None:
            present = seen == "present"
            if not present:
                with self.tracer.span(SPAN_TAG_WRITE, {"tag": tag, "registry": self.registry.uri}):
                    self.registry.put_manifest(tag, manifest)
            return present
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


def _warn_replicas(replicas: list[dict[str, Any]], result: PromoteResult) -> None:
    """FR-030: a failed replica is a warning; the promotion stands."""
    for r in replicas:
        if r.get("status") != "ok":
            warning = (f"replica {r.get('uri')} not updated: {r.get('error')} "
                       "(run 'floe platform sync')")
            if warning not in result.warnings:
                result.warnings.append(warning)

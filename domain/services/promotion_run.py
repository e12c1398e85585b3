"""One decided promotion, run to its end: verify the signature, run the gates, write the
tags, publish the record, complete. A resumed promotion re-enters here and skips what the
ledger says is already done.

Each step saves through the command's :class:`ArtifactSession` and writes registries through
the :class:`RegistryWriter`: the same write path rollback and lock use. Saves are folded to
keep commits few (issue 15 item 3): the decision is one commit, the signature verdict is
saved with the gate results, and both tags with the completion, after the registry writes
(docs/crash-points.md: a run killed in between finds the tags and records them then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from floe_ledger.domain.model.artifact import Artifact, Promotion
from floe_ledger.domain.model.errors import FloeError, SignatureError
from floe_ledger.domain.model.gate_results import GateResult, GateStatus, gate_failure
from floe_ledger.domain.model.oci import Descriptor, Manifest
from floe_ledger.domain.model.values import env_tag, latest_tag
from floe_ledger.domain.services.ports import GateRequest, GateRunner, Registry, SignatureCheck
from floe_ledger.domain.services.registry_writes import RegistryWriter, TagWrite
from floe_ledger.domain.services.requests import PromoteRequest, PromoteResult, estimate_gates
from floe_ledger.domain.services.tracing import SPAN_VERIFY, Tracer
from floe_ledger.domain.services.unit_of_work import ArtifactSession


@dataclass
class _Pending:
    """What a step decided but has not saved yet: it is saved with the next step."""

    signature: dict[str, Any] | None = None  # saved with the gate results
    tags: list[tuple[str, bool, bool]] = field(default_factory=list)  # (tag, mutable,
    # already present): saved with the completion
    record: tuple[dict[str, Any], object] | None = None  # (record, its upload under way)


@dataclass
class PromotionRun:
    """Verify, gate, tag and complete one decided promotion."""

    session: ArtifactSession
    registry: Registry
    repository: str
    signatures: SignatureCheck
    gates: GateRunner
    writer: RegistryWriter
    tracer: Tracer
    _pending: _Pending = field(default_factory=_Pending, init=False)

    def run(self, promo: Promotion, req: PromoteRequest, *, target_state: str | None,
            resumed: bool, manifest: Manifest | None = None,
            seen: Mapping[str, Descriptor | None] | None = None) -> PromoteResult:
        """``target_state`` is what the decision already saw of the immutable env tag
        (``absent``/``present``), so it is not looked up again; None on a resumed run.
        ``manifest``: the source manifest, if it was read before the decision. ``seen``:
        what this command's reconciliation read of each tag (``latest-<env>`` among them)."""
        result = PromoteResult(
            promotion_id=promo.promotion_id, version=promo.version, digest=promo.digest,
            artifact_tag=promo.version if promo.source is None else env_tag(promo.version,
                                                                            promo.source),
            source=promo.source, target=promo.target, dry_run=req.dry_run, resumed=resumed,
        )
        if manifest is None or manifest.digest != promo.digest:
            manifest = self.registry.get_manifest(promo.digest)
        with self.tracer.span(SPAN_VERIFY, {}) as span:
            self._verify(promo, req, result)
            span.set_attribute("enforcement_mode", str(result.signature.get("enforcement")))
            span.set_attribute("cached", bool(result.signature.get("cached")))
        self._run_gates(promo, req, result, manifest)
        if req.dry_run:
            result.tags = [env_tag(promo.version, promo.target), latest_tag(promo.target)]
            result.estimate = estimate_gates(self.session.current().gate_durations(),
                                             self.gates.gate_names(promo.target))
            return result
        self._write_tags(promo, manifest, result, target_state, seen or {})
        self._complete(promo, result)
        return result

    # ---- verify --------------------------------------------------------------------------

    def _verify(self, promo: Promotion, req: PromoteRequest, result: PromoteResult) -> None:
        if promo.signature and promo.signature.get("status") in ("verified", "skipped"):
            result.signature = promo.signature  # resumed: already decided
            return
        outcome = self.signatures.check(self.registry, promo.digest, use_cache=req.use_cache)
        verdict = dict(outcome.verdict, decision=outcome.decision)
        result.signature = verdict
        if outcome.decision == "warn":
            result.warnings.append(outcome.message or "signature not verified (warn mode)")
        ok = outcome.decision != "refuse"
        if req.dry_run:
            pass
        elif ok:
            self._pending.signature = verdict  # saved with the gate results, in one commit
        else:
            self.session.apply(lambda a: a.record_signature(
                promo.promotion_id, promo.digest, verdict, False, self.session.actor))
        if not ok:
            self._block(SignatureError(
                f"signature verification failed for {promo.digest}: {outcome.message}",
                hint="sign it with 'floe artifact sign', or check "
                "artifacts.registry.verification (public_keys, trusted_issuers)",
                details={"verdict": verdict},
            ), promo, req, result)

    # ---- gates ---------------------------------------------------------------------------

    def _run_gates(self, promo: Promotion, req: PromoteRequest, result: PromoteResult,
                   manifest: Manifest) -> None:
        recorded = [GateResult.model_validate(g) for g in promo.gate_results]
        if recorded and all(g.status is not GateStatus.FAILED for g in recorded):
            result.gate_results = recorded  # resumed: gates already passed
            if self._pending.signature is not None:
                self.session.apply(lambda a: self._record_checks(a, promo, []))
            return
        context = GateRequest(
            repository=self.repository, artifact_ref=f"{self.registry.uri}@{promo.digest}",
            digest=promo.digest, version=promo.version, tag=result.artifact_tag,
            source=promo.source, target=promo.target, registry=self.registry,
            signature=result.signature, manifest=manifest,
        )
        results = self.gates.run(context)
        result.gate_results = results
        if not req.dry_run and (results or self._pending.signature is not None):
            self.session.apply(lambda a: self._record_checks(a, promo, results))
        result.warnings += [f"gate {g.gate}: warning" for g in results
                            if g.status is GateStatus.WARNING]
        failure = gate_failure(results)  # every failed gate, each with its own message
        if failure is not None:
            self._block(failure, promo, req, result)

    def _record_checks(self, art: Artifact, promo: Promotion, gates: list[GateResult]) -> None:
        """The signature verdict and the gate results, appended together."""
        actor = self.session.actor
        if self._pending.signature is not None:
            art.record_signature(promo.promotion_id, promo.digest, self._pending.signature,
                                 True, actor)
        for gate in gates:
            art.record_gate(promo.promotion_id, gate, actor)

    def _block(self, err: FloeError, promo: Promotion, req: PromoteRequest,
               result: PromoteResult) -> None:
        """Dry-run lists what would block; a real run records the refusal and raises."""
        result.blocking.append({"code": err.code, "exit_code": int(err.exit_code),
                                "message": err.message, "hint": err.hint, "details": err.details})
        if req.dry_run:
            return
        self.session.record_refusal(err, action="promote", target=promo.target,
                                    version=promo.version, source=promo.source,
                                    ref_id=promo.promotion_id)
        err.details.setdefault("gate_results",
                               [g.model_dump(mode="json") for g in result.gate_results])
        raise err

    # ---- tags, record, completion ----------------------------------------------------------

    def _write_tags(self, promo: Promotion, manifest: Manifest, result: PromoteResult,
                    target_state: str | None, seen: Mapping[str, Descriptor | None]) -> None:
        """The immutable env tag (recorded in the ledger at once), then ``latest-<env>``
        (recorded with the completion). A tag the ledger recorded is not written again.

        ``latest-<env>`` is not asked again when this command's reconciliation saw it name
        another version (or nothing): it is PUT. Only if it already named this digest is
        the registry asked before skipping the PUT."""
        def known(tag: str, state: str | None) -> bool | None:
            if promo.tags.get((self.registry.uri, tag)) == promo.digest:
                return True
            return None if state is None else state == "present"

        immutable, latest = env_tag(promo.version, promo.target), latest_tag(promo.target)
        latest_state = None
        if latest in seen:
            found = seen[latest]
            latest_state = None if found is not None and found.digest == promo.digest \
                else "absent"
        writes = [TagWrite(immutable, present=known(immutable, target_state)),
                  TagWrite(latest, mutable=True, present=known(latest, latest_state))]

        def after_each(write: TagWrite, present: bool) -> None:
            result.tags.append(write.tag)
            self._pending.tags.append((write.tag, write.mutable, present))
            if write.mutable:
                return
            # the record is as it will be published (the ledger head does not move until
            # the completion): its upload overlaps the PUT of latest-<env>
            record = self._record(promo, result, [w.tag for w in writes])
            self._pending.record = (record, self.writer.prepare_record(promo.digest, record))

        written = self.writer.write_tags(promo.digest, manifest, writes, after_each)
        result.registries = written.registries
        _add_warnings(result, written.warnings)

    def _record(self, promo: Promotion, result: PromoteResult,
                tags: list[str]) -> dict[str, Any]:
        """The promotion's registry record."""
        return {"promotion_id": promo.promotion_id, "version": promo.version,
                "digest": promo.digest, "source_environment": promo.source,
                "target_environment": promo.target, "tags": tags,
                "gate_results": [g.model_dump(mode="json") for g in result.gate_results],
                "signature": result.signature, "authorization": promo.authorization,
                **self.session.record_origin()}

    def _complete(self, promo: Promotion, result: PromoteResult) -> None:
        actor = self.session.actor
        record = self._record(promo, result, result.tags)
        started = self._pending.record
        prepared = started[1] if started is not None and started[0] == record else None
        published = self.writer.publish_record(promo.digest, record, result.registries,
                                               prepared=prepared)
        result.record_digest = published.digest
        result.registries = published.registries
        _add_warnings(result, published.warnings)
        written = list(self._pending.tags)

        def complete(art: Artifact) -> None:
            for tag, mutable, present in written:  # a tag already recorded is skipped
                art.record_tag(promo.promotion_id, self.registry.uri, tag, promo.digest,
                               mutable=mutable, already_present=present, actor=actor)
            art.complete_promotion(promo.promotion_id, registries=result.registries,
                                   actor=actor, record_digest=result.record_digest)
        self.session.apply(complete)


def _add_warnings(result: PromoteResult, warnings: list[str]) -> None:
    result.warnings += [w for w in warnings if w not in result.warnings]

"""Roll an environment back to a version that ran there before (FR-013..FR-017).

    service = RollbackService(store, registry, repository, config.promotion, clock=clock)
    service.rollback(RollbackRequest("v1.2.2", "prod", reason="bad deploy"), actor)

A version counts as having run in the environment when the ledger recorded its promotion
there, or, like promote's source tag, when the registry holds ``{version}-{env}``. The impact
analysis decides how it goes on: SAFE goes ahead, RISKY only when confirmed (``yes``, or the
request's ``confirm`` answered yes), BLOCKED only with ``force``. Tags and the record are written
through the same :class:`RegistryWriter` as a promotion, saved through the same
:class:`ArtifactSession`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.authorization import authorize_entry
from floe_ledger.domain.model.config import DependentConfig, PromotionConfig
from floe_ledger.domain.model.errors import (
    ExitCode,
    FloeError,
    InvalidTransitionError,
    UsageError,
)
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.impact import (
    BLOCKED,
    RISKY,
    ManifestOutline,
    analyze_rollback,
    outline_manifest,
)
from floe_ledger.domain.model.oci import Descriptor
from floe_ledger.domain.model.state import OpenRollback
from floe_ledger.domain.model.values import (
    env_index_tag,
    env_tag,
    latest_tag,
    rollback_tag,
    strip_env_suffix,
)
from floe_ledger.domain.services.ports import (
    Clock,
    LedgerStore,
    NoRecordReader,
    NoRecords,
    NoReplicas,
    RecordReader,
    RecordWriter,
    Registry,
    Replication,
)
from floe_ledger.domain.services.reconcile import reconcile
from floe_ledger.domain.services.registry_writes import RegistryWriter, TagWrite, head_anchor
from floe_ledger.domain.services.requests import RollbackRequest, RollbackResult
from floe_ledger.domain.services.resolve import check_explained, resolve_tag
from floe_ledger.domain.services.tracing import SPAN_ROLLBACK, NoopTracer, Tracer
from floe_ledger.domain.services.unit_of_work import ArtifactSession, identify_refusal

__all__ = ["RollbackRequest", "RollbackResult", "RollbackService"]


@dataclass
class RollbackService:
    store: LedgerStore
    registry: Registry
    repository: str
    config: PromotionConfig
    clock: Clock
    dependents: list[DependentConfig] = field(default_factory=list)
    records: RecordWriter = field(default_factory=NoRecords)
    reader: RecordReader = field(default_factory=NoRecordReader)
    replicas: Replication = field(default_factory=NoReplicas)
    tracer: Tracer = field(default_factory=NoopTracer)

    def rollback(self, req: RollbackRequest, actor: Actor) -> RollbackResult:
        """Roll ``req.environment`` back to ``req.version`` (or explain it, with dry_run)."""
        attrs: dict[str, str | bool] = {
            "artifact_ref": f"{self.repository}:{req.version}", "environment": req.environment,
            "reason": req.reason, "dry_run": req.dry_run}
        session = ArtifactSession(self.store, self.repository, actor, self.clock,
                                  anchor=head_anchor(self.registry, self.records, self.clock,
                                                     self.config.path.anchored_in(req.environment)))
        with self.tracer.span(SPAN_ROLLBACK, attrs) as span:
            try:
                result = self._rollback(req, actor, session)
            finally:
                anchored = session.close()
            result.warnings += anchored
            span.set_attribute("rollback_id", result.rollback_id)
            return result

    def _rollback(self, req: RollbackRequest, actor: Actor,
                  session: ArtifactSession) -> RollbackResult:
        env = req.environment
        self.config.path.index(env)
        version = strip_env_suffix(req.version, self.config.path.names, env, "--env")
        rid = self.clock.new_id()

        def refuse(err: FloeError) -> FloeError:
            if req.dry_run:
                identify_refusal(err, "rollback", rid, session.current().versions.get(version))
                return err
            session.refuse(err, action="rollback", target=env, version=version, ref_id=rid)

        try:  # who may roll back needs no registry
            authorize_entry(self.config.environment(env).authorization, actor.who, "roll back",
                            env, break_glass=req.break_glass)  # break-glass: authenticated
        except FloeError as err:
            raise refuse(err) from None
        reconciled = reconcile(session, self.registry, self.reader, [
            env_tag(version, env), env_index_tag(env), latest_tag(env)])
        warnings = reconciled.warnings
        art = session.current()
        opened = art.open_rollback(env)
        resumable = opened if opened is not None and opened.version == version else None
        try:  # a resumed rollback passes the same checks, for whoever resumes it
            if not req.break_glass:
                art.check_not_locked(env)
            digest = resumable.digest if resumable else art.check_rollback(
                version, env, registry_digest=self._registry_digest(
                    art, version, env, reconciled.resolved))
        except FloeError as err:
            if err.exit_code == ExitCode.REGISTRY_UNAVAILABLE:  # no decision was made
                raise
            raise refuse(err) from None
        if resumable is not None and not req.dry_run:
            return self._resume(session, req, resumable, warnings)
        live = art.live.get(env)
        result = RollbackResult(rid, version, env, digest=digest, dry_run=req.dry_run,
                                previous_version=live.version if live else None,
                                previous_digest=live.digest if live else None,
                                warnings=warnings)
        if live is not None and live.version == version:
            result.nothing_to_do = True
            return result
        result.impact = analyze_rollback(
            art, self.config.path, version, env, self._outline(digest),
            self._outline(live.digest) if live else None, self.dependents)
        if result.impact["risk"] == BLOCKED and not req.force:
            blocked = InvalidTransitionError(
                f"rollback of {env} to {version} is BLOCKED by its impact analysis",
                hint="; ".join(result.impact["recommendations"]) + " (--force overrides)",
                details={"impact": result.impact})
            if req.dry_run:
                result.blocking.append(_blocking(blocked))
                return result
            raise refuse(blocked)
        if result.impact["risk"] == RISKY and not (req.force or req.yes):
            self._confirm(req, result)
        sequence, present = self._sequence(art, version, env, digest)
        result.rollback_tag = rollback_tag(version, env, sequence)
        if req.dry_run:
            result.tags = [result.rollback_tag, latest_tag(env)]
            return result
        impact = result.impact

        def request(a: Artifact) -> None:
            if req.break_glass:
                a.enter(env, req.break_glass, actor)
            a.request_rollback(rollback_id=rid, version=version, digest=digest, env=env,
                               rollback_tag=result.rollback_tag or "", sequence=sequence,
                               reason=req.reason, impact=impact, actor=actor)
        session.apply(request)  # open from here: status shows it, a re-run resumes it
        self._write(session, req, result, sequence, present)
        return result

    def _resume(self, session: ArtifactSession, req: RollbackRequest, opened: OpenRollback,
                warnings: list[str]) -> RollbackResult:
        """Finish a rollback a killed run requested: its tags, its record, RolledBack."""
        env = req.environment
        result = RollbackResult(opened.rollback_id, opened.version, env, digest=opened.digest,
                                previous_version=opened.previous_version,
                                previous_digest=opened.previous_digest,
                                rollback_tag=opened.rollback_tag, impact=opened.impact,
                                warnings=warnings, resumed=True)
        if req.break_glass:  # entering a locked env is recorded
            session.apply(lambda a: a.enter(env, req.break_glass, session.actor))
        self._write(session, replace(req, reason=opened.reason), result, opened.sequence, None)
        return result

    @staticmethod
    def _confirm(req: RollbackRequest, result: RollbackResult) -> None:
        """A RISKY rollback goes on only when confirmed; refused (exit 2) before anything is
        written otherwise. A dry run says which of the two the real run would meet."""
        if req.dry_run:
            if req.confirm is None:
                result.blocking.append(_blocking(_unconfirmed(result, asked=False)))
            else:
                result.needs_confirmation = True
            return
        if req.confirm is None or not req.confirm(result.impact):
            raise _unconfirmed(result, asked=req.confirm is not None)

    def _registry_digest(self, art: Artifact, version: str, env: str,
                         resolved: Mapping[str, Descriptor | None]) -> str | None:
        """The registry's ``{version}-{env}``, asked only when no promotion, record or adoption
        puts the version there; as for promote's source tag, a tag floe has no record of is
        not evidence (exit 9), unless the environment trusts such tags."""
        if art.completed(version, env) is not None:
            return None
        found = resolve_tag(self.registry, env_tag(version, env), resolved)
        if found is None:
            return None
        if not self.config.trusts_unrecorded_tags(env):
            check_explained(art, version, env, found.digest)
        return found.digest

    def _write(self, session: ArtifactSession, req: RollbackRequest, result: RollbackResult,
               sequence: int, present: bool | None) -> None:
        """Tags (primary and replicas), the record, then the RolledBack event. ``present``:
        whether the rollback tag names the digest already (None: ask the registry)."""
        actor, env, version = session.actor, result.environment, result.version
        assert result.rollback_tag is not None
        writer = RegistryWriter(self.registry, self.replicas, self.records, self.tracer)
        manifest = self.registry.get_manifest(result.digest)
        written = writer.write_tags(result.digest, manifest, [
            TagWrite(result.rollback_tag, present=present),
            TagWrite(latest_tag(env), mutable=True, present=False)])
        result.tags = written.tags
        record = {"kind": "rollback", "rollback_id": result.rollback_id, "version": version,
                  "environment": env, "digest": result.digest, "reason": req.reason,
                  "rollback_tag": result.rollback_tag, "sequence": sequence, "previous_version":
                  result.previous_version, "previous_digest": result.previous_digest,
                  "rolled_back_at": self.clock.now().isoformat(),
                  "risk": result.impact.get("risk"), **session.record_origin()}
        published = writer.publish_record(result.digest, record, written.registries)
        result.record_digest = published.digest
        result.registries = published.registries
        result.warnings += [*written.warnings, *published.warnings]
        result.warnings = list(dict.fromkeys(result.warnings))

        def record_rollback(a: Artifact) -> None:
            digest = a.check_rollback(version, env, registry_digest=result.digest)
            a.observe_version(version, digest, env, env_tag(version, env), actor)
            a.roll_back(rollback_id=result.rollback_id, version=version, digest=digest, env=env,
                        rollback_tag=result.rollback_tag or "", sequence=sequence,
                        reason=req.reason, impact=result.impact,
                        registries=result.registries, actor=actor)
        session.apply(record_rollback)

    def impact(self, version: str, env: str) -> dict[str, Any] | None:
        """The impact analysis of rolling ``env`` back to ``version`` against what runs there
        now, read-only (no reconcile, nothing saved; ``floe serve`` shows it): None when the
        ledger has nothing live in ``env``, or ``version`` is what runs there."""
        art = self.store.load(self.repository)
        live = art.live.get(env) if art is not None else None
        if art is None or live is None or live.version == version:
            return None
        digest = art.versions.get(version)
        if digest is None:
            return None
        return analyze_rollback(art, self.config.path, version, env, self._outline(digest),
                                self._outline(live.digest), self.dependents)

    def _outline(self, digest: str) -> ManifestOutline:
        manifest = self.registry.get_manifest(digest)
        try:
            doc = json.loads(manifest.data)
        except ValueError:
            doc = {}
        return outline_manifest(digest, manifest.media_type,
                                  doc if isinstance(doc, dict) else {})

    def _sequence(self, art: Artifact, version: str, env: str, digest: str) -> tuple[int, bool]:
        """N for ``{version}-{env}-rollback-{N}`` (TAG-04), reusing a tag an interrupted run
        wrote but did not record; returns (N, tag already present)."""
        prefix = f"{version}-{env}-rollback-"
        in_registry = [int(t[len(prefix):]) for t in self.registry.list_tags()
                       if t.startswith(prefix) and t[len(prefix):].isdigit()]
        recorded = art.rollbacks.get((version, env), 0)
        highest = max(in_registry, default=0)
        if highest > recorded:
            found = self.registry.resolve(rollback_tag(version, env, highest))
            if found is not None and found.digest == digest:
                return highest, True
        return max(highest, recorded) + 1, False


def _unconfirmed(result: RollbackResult, *, asked: bool) -> UsageError:
    """Exit 2: a confirmation is missing, like a missing ``--reason`` off a terminal."""
    where = f"rollback of {result.environment} to {result.version}"
    if asked:
        return UsageError(f"{where} is RISKY and was not confirmed; nothing was written",
                          hint="re-run and answer y, or pass --yes",
                          details={"risk": RISKY})
    return UsageError(f"{where} is RISKY and needs confirming; nothing was written",
                      hint="read the impact analysis (--dry-run), then pass --yes (the "
                      "question is only asked on a terminal)", details={"risk": RISKY})


def _blocking(err: FloeError) -> dict[str, object]:
    """What would stop the real run, as a dry run lists it (like promote's ``blocking``)."""
    return {"code": err.code, "exit_code": int(err.exit_code), "message": err.message,
            "hint": err.hint}

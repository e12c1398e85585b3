"""Adopt an environment tag floe did not write as evidence that a version passed there.

    service = AdoptionService(store, registry, repository, config.promotion, clock=clock)
    service.adopt(AdoptRequest("v9.0.0", "staging", reason="promoted by the old pipeline"), actor)

An environment tag pushed by hand or by another tool is not evidence that the version's
gates, signature check and authorization ran, so promoting from it is refused (exit 9). An
operator allowed into the environment may adopt it deliberately: the adoption is an event
with its operator and reason, and a registry record every other ledger folds in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from floe_ledger.domain.model.authorization import authorize
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import ExitCode, FloeError, NotFoundError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import env_index_tag, env_tag, strip_env_suffix
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
from floe_ledger.domain.services.reconcile import reconcile
from floe_ledger.domain.services.registry_writes import RegistryWriter, head_anchor
from floe_ledger.domain.services.requests import AdoptRequest, AdoptResult
from floe_ledger.domain.services.resolve import resolve_tag
from floe_ledger.domain.services.tracing import NoopTracer, Tracer
from floe_ledger.domain.services.unit_of_work import ArtifactSession


@dataclass
class AdoptionService:
    store: LedgerStore
    registry: Registry
    repository: str
    config: PromotionConfig
    clock: Clock
    records: RecordWriter = field(default_factory=NoRecords)
    reader: RecordReader = field(default_factory=NoRecordReader)
    tracer: Tracer = field(default_factory=NoopTracer)

    def adopt(self, req: AdoptRequest, actor: Actor) -> AdoptResult:
        """Record the adoption (VersionAdopted) and its registry record; refusals recorded."""
        env = req.environment
        self.config.path.index(env)
        version = strip_env_suffix(req.version, self.config.path.names, env, "--env")
        tag = env_tag(version, env)
        aid = self.clock.new_id()
        session = ArtifactSession(self.store, self.repository, actor, self.clock,
                                  anchor=head_anchor(self.registry, self.records, self.clock,
                                                     self.config.path.anchored_in(env)))
        try:
            result = self._adopt(session, req, env, version, tag, aid)
        finally:
            anchored = session.close()
        result.warnings += anchored
        return result

    def _adopt(self, session: ArtifactSession, req: AdoptRequest, env: str, version: str,
               tag: str, aid: str) -> AdoptResult:
        actor = session.actor
        reconciled = reconcile(session, self.registry, self.reader, [tag, env_index_tag(env)])
        warnings = reconciled.warnings
        try:
            authorize(self.config.environment(env).authorization, actor.who, "adopt into", env)
            found = resolve_tag(self.registry, tag, reconciled.resolved)
            if found is None:
                raise NotFoundError(f"{tag} is not in {self.registry.uri}: nothing to adopt",
                                    hint="adopt a tag that is there ('floe platform status')")
            digest = found.digest
            session.apply(lambda a: a.adopt(adoption_id=aid, version=version, digest=digest,
                                            env=env, tag=tag, reason=req.reason, actor=actor))
        except FloeError as err:
            if err.exit_code == ExitCode.REGISTRY_UNAVAILABLE:  # no decision was made
                raise
            session.refuse(err, action="adopt", target=env, version=version, ref_id=aid)
        record = {"kind": "adoption", "adoption_id": aid, "version": version,
                  "environment": env, "tag": tag, "reason": req.reason,
                  "adopted_at": self.clock.now().isoformat(), **session.record_origin()}
        writer = RegistryWriter(self.registry, NoReplicas(), self.records, self.tracer)
        published = writer.publish_record(digest, record)
        return AdoptResult(aid, version, env, tag, digest, req.reason, published.digest,
                           warnings + published.warnings)

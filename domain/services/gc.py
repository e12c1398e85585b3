"""Retention: delete the environment tags of versions that ran too long ago (``floe gc``).

    service = GcService(store, registry, repository, config.promotion, clock=clock)
    result = service.collect(GcRequest(keep=5, dry_run=True), actor)   # what would go
    result = service.collect(GcRequest(keep=5), actor)                 # delete, record

Like every command that decides, it first folds other ledgers' records about the
environments (their locks, what runs there, versions promoted elsewhere), then plans
(:mod:`floe_ledger.domain.model.retention`): per environment the ``keep`` versions that ran
there most recently stay, and so do the running one, the one a rollback goes back to, every
tag of a locked environment or of one the operator may not change, and tags no record
explains. The rest are deleted from the primary registry through the
:class:`RegistryWriter` (never a manifest: a registry that cannot delete a tag alone stops gc
before anything is deleted), then recorded as TagsCollected through the
:class:`ArtifactSession`, then described by a collection record beside each version, so
that ``floe audit verify --registry`` in any ledger does not call them drift. Replicas keep
their tags (they are not deleted there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.authorization import authorize
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import FloeError, UnauthorizedError, UsageError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.retention import (
    ABSENT,
    DELETE,
    TagPlan,
    env_tags_of,
    keep_manifests_tagged,
    plan_retention,
    ranking,
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
)
from floe_ledger.domain.services.reconcile import environment_tags, reconcile
from floe_ledger.domain.services.registry_writes import (
    RegistryWriter,
    TagDelete,
    TagsDeleted,
    head_anchor,
)
from floe_ledger.domain.services.requests import GcRequest, GcResult
from floe_ledger.domain.services.tracing import SPAN_GC, NoopTracer, Tracer
from floe_ledger.domain.services.unit_of_work import ArtifactSession

__all__ = ["GcRequest", "GcResult", "GcService"]


@dataclass
class GcService:
    store: LedgerStore
    registry: Registry
    repository: str
    config: PromotionConfig
    clock: Clock
    records: RecordWriter = field(default_factory=NoRecords)
    reader: RecordReader = field(default_factory=NoRecordReader)
    tracer: Tracer = field(default_factory=NoopTracer)

    def collect(self, req: GcRequest, actor: Actor) -> GcResult:
        """Plan, and unless ``req.dry_run`` delete and record; a deletion that failed is
        raised after what was deleted before it is recorded."""
        if req.keep < 1:
            raise UsageError(f"--keep must be at least 1, not {req.keep}",
                             hint="the running version and the one before it always stay")
        envs = list(req.environments) or list(self.config.path.names)
        for env in envs:
            self.config.path.index(env)
        result = GcResult(self.clock.new_id(), req.keep, envs, req.dry_run)
        touched: list[str] = []  # where the head anchor goes: the environments changed
        session = ArtifactSession(self.store, self.repository, actor, self.clock,
                                  anchor=head_anchor(self.registry, self.records, self.clock,
                                                     touched))
        attrs: dict[str, str | bool] = {"keep": str(req.keep), "dry_run": req.dry_run,
                                        "environments": ",".join(envs)}
        with self.tracer.span(SPAN_GC, attrs):
            try:
                self._collect(session, req, envs, result)
            finally:
                gone = {p["environment"] for p in result.plan
                        if p["tag"] in result.deleted or p["tag"] in result.absent}
                touched += [e for e in envs if e in gone] or envs[:1]
                result.warnings += session.close()
        return result

    def _collect(self, session: ArtifactSession, req: GcRequest, envs: list[str],
                 result: GcResult) -> None:
        live_tags = self.registry.list_tags()
        art = session.current()
        ran = {env: set(ranking(art, env)) for env in envs}
        unknown = [t for t in live_tags if (p := env_tags_of(t, envs)) is not None
                   and "-rollback-" not in t and p[0] not in ran[p[1]]]
        result.warnings += reconcile(session, self.registry, self.reader,
                                     [*environment_tags(envs), *unknown]).warnings
        art = session.current()
        plan = plan_retention(art, envs, req.keep, live_tags, self._skipped(art, envs, session))
        plan = keep_manifests_tagged(plan, self._released(art, plan))
        result.plan = [p.as_dict() for p in plan]
        if req.dry_run:
            return
        writer = RegistryWriter(self.registry, NoReplicas(), self.records, self.tracer)
        done = writer.delete_tags([TagDelete(p.tag, p.digest, p.keeper) for p in plan
                                   if p.action == DELETE and p.digest and p.keeper])
        absent = {p.tag: p.digest for p in plan if p.action == ABSENT and p.digest}
        result.deleted, result.absent = done.deleted, {**absent, **done.absent}
        self._record(session, req, envs, result, done)
        if done.error is not None:
            raise done.error

    def _skipped(self, art: Artifact, envs: list[str], session: ArtifactSession
                 ) -> dict[str, str]:
        """Environments whose tags stay whatever their age: locked, or not the operator's."""
        skip = {}
        for env in envs:
            lock = art.locks.get(env)
            if lock is not None:
                skip[env] = f"{env} is locked ({lock.reason}, by {lock.by})"
                continue
            try:
                authorize(self.config.environment(env).authorization, session.actor.who,
                          "collect tags in", env)
            except UnauthorizedError as err:
                skip[env] = err.message
        return skip

    def _released(self, art: Artifact, plan: list[TagPlan]) -> set[str]:
        """Versions to collect whose release tag still names their digest."""
        versions = {p.version for p in plan if p.action == DELETE}
        out = set()
        for version in sorted(versions):
            found = self.registry.resolve(version)
            if found is not None and found.digest == art.versions.get(version):
                out.add(version)
        return out

    def _record(self, session: ArtifactSession, req: GcRequest, envs: list[str],
                result: GcResult, done: TagsDeleted) -> None:
        """TagsCollected first (the tags are gone), then a collection record per version."""
        actor = session.actor
        for tag, digest in sorted(done.moved.items()):
            result.warnings.append(f"{tag} names {digest} now, not what the ledger recorded: "
                                   "kept ('floe audit verify --registry' reports it)")
        changed = session.apply(lambda a: a.collect_tags(
            collection_id=result.collection_id, registry=self.registry.uri, keep=req.keep,
            deleted=dict(result.deleted), absent=dict(result.absent), environments=envs,
            actor=actor))
        if not changed or not result.deleted:
            return
        writer = RegistryWriter(self.registry, NoReplicas(), self.records, self.tracer)
        by_digest: dict[str, list[str]] = {}
        for tag, digest in result.deleted.items():
            by_digest.setdefault(digest, []).append(tag)
        versions = {p["digest"]: p["version"] for p in result.plan if p["tag"] in result.deleted}
        for digest, tags in by_digest.items():
            record = {"kind": "collection", "collection_id": result.collection_id,
                      "version": versions.get(digest), "tags": sorted(tags), "keep": req.keep,
                      "collected_at": self.clock.now().isoformat(), **session.record_origin()}
            try:
                published = writer.publish_record(digest, record)
            except FloeError as err:
                result.warnings.append(
                    f"collection record of {', '.join(sorted(tags))} not written: {err.message}"
                    " (other ledgers' 'audit verify --registry' may call these tags deleted)")
                continue
            if published.digest:
                result.record_digests.append(published.digest)

"""Rollback (FR-013..FR-017) and environment locks (FR-035..FR-039) for one repository.

    ops = OperationsService(store, registry, repository, config.promotion)
    ops.rollback(RollbackRequest("v1.2.2", "prod", reason="bad deploy"), actor)
    ops.lock("prod", "incident 42", actor)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from floe_ledger.domain.artifact import Actor, Artifact
from floe_ledger.domain.authorization import authorize
from floe_ledger.domain.config import DependentConfig, PromotionConfig
from floe_ledger.domain.errors import ConcurrencyError, FloeError, InvalidTransitionError
from floe_ledger.domain.hooks import (
    Clock,
    NoRecords,
    NoReplicas,
    RecordWriter,
    Replication,
    SystemClock,
)
from floe_ledger.domain.impact import BLOCKED, ManifestFacts, analyze_rollback, manifest_facts
from floe_ledger.domain.ports import LedgerStore, Registry
from floe_ledger.domain.tracing import SPAN_LOCK, SPAN_ROLLBACK, SPAN_UNLOCK, NoopTracer, Tracer
from floe_ledger.domain.values import latest_tag, rollback_tag, strip_env_suffix

MAX_RETRIES = 16


@dataclass(frozen=True)
class RollbackRequest:
    version: str
    environment: str
    reason: str
    dry_run: bool = False
    force: bool = False
    break_glass: str | None = None


@dataclass
class RollbackResult:
    rollback_id: str
    version: str
    environment: str
    digest: str = ""
    previous_version: str | None = None
    previous_digest: str | None = None
    rollback_tag: str | None = None
    impact: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    nothing_to_do: bool = False
    tags: list[str] = field(default_factory=list)
    record_digest: str | None = None
    registries: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class OperationsService:
    store: LedgerStore
    registry: Registry
    repository: str
    config: PromotionConfig
    dependents: list[DependentConfig] = field(default_factory=list)
    records: RecordWriter = field(default_factory=NoRecords)
    replicas: Replication = field(default_factory=NoReplicas)
    tracer: Tracer = field(default_factory=NoopTracer)
    clock: Clock = field(default_factory=SystemClock)

    def _load(self, actor: Actor) -> Artifact:
        return self.store.load(self.repository) or Artifact.register(self.repository, actor=actor)

    def _append(self, change: Callable[[Artifact], Any], actor: Actor) -> Artifact:
        for attempt in range(MAX_RETRIES):
            art = self._load(actor)
            change(art)
            try:
                self.store.save(art)
                return art
            except ConcurrencyError:
                if attempt == MAX_RETRIES - 1:
                    raise
                self.clock.pause(attempt)
        raise AssertionError("unreachable")

    def _refuse(self, err: FloeError, action: str, version: str, env: str, actor: Actor,
                ref_id: str) -> NoReturn:
        self._append(lambda a: a.reject(err, promotion_id=ref_id, version=version, source=None,
                                        target=env, actor=actor, action=action), actor)
        raise err

    # ---- rollback ----------------------------------------------------------------------

    def rollback(self, req: RollbackRequest, actor: Actor) -> RollbackResult:
        """Roll ``req.environment`` back to ``req.version`` (or explain it, with dry_run)."""
        attrs: dict[str, str | bool] = {
            "artifact_ref": f"{self.repository}:{req.version}", "environment": req.environment,
            "reason": req.reason, "dry_run": req.dry_run}
        with self.tracer.span(SPAN_ROLLBACK, attrs) as span:
            result = self._rollback(req, actor)
            span.set_attribute("rollback_id", result.rollback_id)
            return result

    def _rollback(self, req: RollbackRequest, actor: Actor) -> RollbackResult:
        env = req.environment
        self.config.path.index(env)
        version = strip_env_suffix(req.version, self.config.path.names)
        rid = str(uuid.uuid4())
        art = self._load(actor)
        try:
            if not req.break_glass:
                art.check_not_locked(env)
            authorize(self.config.environment(env).authorization, actor.who, "roll back", env)
            target = art.check_rollback(version, env)
        except FloeError as err:
            if req.dry_run:
                raise
            self._refuse(err, "rollback", version, env, actor, rid)
        live = art.live.get(env)
        result = RollbackResult(rid, version, env, digest=target.digest, dry_run=req.dry_run,
                                previous_version=live.version if live else None,
                                previous_digest=live.digest if live else None)
        if live is not None and live.version == version:
            result.nothing_to_do = True
            return result
        result.impact = analyze_rollback(
            art, self.config.path, version, env, self._facts(target.digest),
            self._facts(live.digest) if live else None, self.dependents)
        if result.impact["risk"] == BLOCKED and not req.force:
            if req.dry_run:
                return result
            blocked = InvalidTransitionError(
                f"rollback of {env} to {version} is BLOCKED by its impact analysis",
                hint="; ".join(result.impact["recommendations"]) + " (--force overrides)",
                details={"impact": result.impact})
            self._refuse(blocked, "rollback", version, env, actor, rid)
        sequence, present = self._sequence(art, version, env, target.digest)
        result.rollback_tag = rollback_tag(version, env, sequence)
        if req.dry_run:
            result.tags = [result.rollback_tag, latest_tag(env)]
            return result
        self._write(result, present)
        record = {"kind": "rollback", "rollback_id": rid, "version": version,
                  "environment": env, "digest": target.digest, "reason": req.reason,
                  "rollback_tag": result.rollback_tag, "previous_version":
                  result.previous_version, "previous_digest": result.previous_digest,
                  "operator": actor.operator, "trace_id": actor.trace_id,
                  "rolled_back_at": datetime.now(UTC).isoformat(),
                  "risk": result.impact.get("risk"), "ledger_head": _head(art)}
        result.record_digest = self.records.write(self.registry, target.digest, record)
        if result.record_digest and len(result.registries) > 1:  # the record travels too
            result.registries[1:] = self.replicas.push_companions(
                self.registry, target.digest, result.registries[1:])
        result.warnings += [f"replica {r.get('uri')} not updated: {r.get('error')} "
                            "(run 'floe platform sync')"
                            for r in result.registries[1:] if r.get("status") != "ok"]
        registries = result.registries

        def record_rollback(a: Artifact) -> None:
            a.check_rollback(version, env)
            if req.break_glass:
                a.enter(env, req.break_glass, actor)
            a.roll_back(rollback_id=rid, version=version, env=env,
                        rollback_tag=result.rollback_tag or "", sequence=sequence,
                        reason=req.reason, impact=result.impact, registries=registries,
                        actor=actor)
        self._append(record_rollback, actor)
        return result

    def _facts(self, digest: str) -> ManifestFacts:
        manifest = self.registry.get_manifest(digest)
        try:
            doc = json.loads(manifest.data)
        except ValueError:
            doc = {}
        return manifest_facts(digest, manifest.media_type, doc if isinstance(doc, dict) else {})

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

    def _write(self, result: RollbackResult, present: bool) -> None:
        manifest = self.registry.get_manifest(result.digest)
        assert result.rollback_tag is not None
        tags = [result.rollback_tag, latest_tag(result.environment)]
        job = self.replicas.start(self.registry, result.digest, tags, manifest=manifest,
                                  immutable=tags[:1])
        try:
            if not present:
                self.registry.put_manifest(result.rollback_tag, manifest)
            self.registry.put_manifest(latest_tag(result.environment), manifest)
        finally:
            replicas = job.wait()
        result.tags = tags
        result.registries = [{"uri": self.registry.uri, "status": "ok", "error": None,
                              "tags": tags}, *replicas]

    # ---- locks -------------------------------------------------------------------------

    def lock(self, env: str, reason: str, actor: Actor) -> bool:
        """Lock ``env``; False if it was already locked (nothing recorded then)."""
        return self._lock_change(env, reason, actor, locking=True)

    def unlock(self, env: str, reason: str, actor: Actor) -> bool:
        return self._lock_change(env, reason, actor, locking=False)

    def _lock_change(self, env: str, reason: str, actor: Actor, *, locking: bool) -> bool:
        with self.tracer.span(SPAN_LOCK if locking else SPAN_UNLOCK,
                              {"environment": env, "reason": reason}):
            return self._change_lock(env, reason, actor, locking=locking)

    def _change_lock(self, env: str, reason: str, actor: Actor, *, locking: bool) -> bool:
        self.config.path.index(env)
        action = "lock" if locking else "unlock"
        try:
            authorize(self.config.environment(env).authorization, actor.who, action, env)
        except FloeError as err:
            self._refuse(err, action, "", env, actor, str(uuid.uuid4()))
        changed: list[bool] = []

        def change(a: Artifact) -> None:
            changed.clear()
            changed.append(a.lock(env, reason, actor) if locking else a.unlock(env, reason, actor))
        art = self._append(change, actor)
        if changed[0]:
            self._lock_record(art, env, reason, actor, locking=locking)
        return changed[0]

    def _lock_record(self, art: Artifact, env: str, reason: str, actor: Actor, *,
                     locking: bool) -> None:
        """A lock record beside what ``env`` runs (nothing is written if nothing runs there)."""
        live = art.live.get(env)
        record = {"kind": "lock", "environment": env, "reason": reason,
                  "status": "locked" if locking else "unlocked", "operator": actor.operator,
                  "locked_at": datetime.now(UTC).isoformat(), "trace_id": actor.trace_id,
                  "ledger_head": _head(art)}
        self.records.write(self.registry, live.digest if live else "", record)

    def current_lock(self, env: str, actor: Actor) -> dict[str, str] | None:
        lock = self._load(actor).locks.get(env)
        if lock is None:
            return None
        return {"reason": lock.reason, "locked_by": lock.by, "locked_at": lock.at.isoformat()}


def _head(art: Artifact) -> dict[str, Any]:
    """Where the stream stood when a record was written: lets an auditor see cut events."""
    return {"artifact_id": str(art.id), "version": art.version, "hash": art.chain_head}

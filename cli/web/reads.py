"""What each dashboard page shows, read through the readers the CLI's commands use.

Nothing here writes to the ledger or a registry: the matrix reads the environment views
(``floe platform status``'s reader, without its reconcile step, which would record other
ledgers' records), the timeline folds ``floe audit history``'s :class:`HistoryFold`, the
audit page runs ``floe audit verify``'s :func:`verify_ledger`. Each call gets its own
:class:`~floe_ledger.cli.app.App` (a request runs in a worker thread; the App is closed after).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from floe_ledger.adapters.audit import verify as audit_ops
from floe_ledger.adapters.audit.events import decoded
from floe_ledger.adapters.store.readers import open_reader, status_rows
from floe_ledger.domain.model.errors import FloeError, NotFoundError
from floe_ledger.projections.audit import parse_state, raw_hash
from floe_ledger.projections.audit_replay import (
    AuditEntry,
    HistoryFilter,
    HistoryFold,
    event_summary,
)
from floe_ledger.projections.version_trail import ReplicaFold, VersionTrail

if TYPE_CHECKING:
    from floe_ledger.cli.app import App

#: The kinds the timeline shows: promotions, rollbacks, locks and refusals.
TIMELINE_KINDS = frozenset({
    "PromotionCompleted", "RolledBack", "EnvironmentLocked", "EnvironmentUnlocked", "LockBroken",
    "PromotionRejected", "RollbackRejected", "LockRejected", "RecordObserved", "VersionAdopted",
})
#: The history kinds that put a version in an environment's matrix cell.
MATRIX_KINDS = ("PROMOTED", "ROLLBACK", "ADOPTED", "REJECTED")
TIMELINE_LIMIT = 500


def environments(app: App) -> list[str]:
    return list(app.manifest.artifacts.promotion.path.names)


def events(app: App) -> Iterator[tuple[int, Any]]:
    # (position, ArtifactEvent): the CLI layer names no event class (import contract)
    """Every decoded event (none for a ledger that does not exist yet)."""
    try:
        rows = audit_ops.ledger_rows(app)
    except NotFoundError:
        return iter(())
    return decoded(rows)


def _artifact_id(app: App) -> str:
    from floe_ledger.adapters.manifest.summary import ManifestSummary, summary_of

    summary = summary_of(app.settings.manifest_path, lambda: ManifestSummary(
        app.repository, app.manifest.artifacts.promotion.path.names))
    from floe_ledger.domain.model.artifact_id import artifact_id

    return str(artifact_id(summary.repository))


def head(app: App) -> int:
    """The ledger's last notification id (0 before the first event)."""
    loc = app.ledger_location
    if loc.kind == "sqlite" and (loc.path is None or not loc.path.exists()):
        return 0
    return app.store.max_position()


@dataclass
class Matrix:
    environments: list[str]
    rows: list[dict[str, Any]]  # platform status rows, with "replicas"
    versions: list[str] = field(default_factory=list)  # newest first
    cells: dict[tuple[str, str], str] = field(default_factory=dict)  # (version, env) -> state


def matrix(app: App) -> Matrix:
    envs = environments(app)
    aid = _artifact_id(app)
    rows = status_rows(app.ledger_location, app.settings.env, aid, envs, 0,
                       catch_up=lambda: app.store.refresh_views())
    replicas = ReplicaFold()
    for _, event in events(app):
        replicas.feed(event)
    for row in rows:
        live = replicas.live.get(row["environment"])
        row["replicas"] = list(live.registries[1:]) if live and live.version == row[
            "version"] else []
    out = Matrix(envs, rows)
    reader = open_reader(app.ledger_location, app.settings.env,
                         catch_up=lambda: app.store.refresh_views())
    if reader is None:
        return out
    try:
        entries = reader.history(aid, None, 10_000, kinds=MATRIX_KINDS)
    finally:
        reader.close()
    running = {(r["version"], r["environment"]) for r in rows if r["version"]}
    current: dict[str, str] = {}  # env -> the version deployed there at this point
    for h in reversed(entries):  # oldest first: the newest state of a cell wins
        if h.version and h.version not in out.versions:
            out.versions.append(h.version)
        state = {"PROMOTED": "passed", "ADOPTED": "adopted", "ROLLBACK": "rolled back to",
                 "REJECTED": "refused"}[h.kind]
        if state == "rolled back to" and current.get(h.environment, h.version) != h.version:
            out.cells[(current[h.environment], h.environment)] = "rolled back from"
        if state != "refused":
            current[h.environment] = h.version
        if not (state == "refused" and (h.version, h.environment) in out.cells):
            out.cells[(h.version, h.environment)] = state
    for key in running:
        out.cells[key] = "running"
    out.versions.reverse()
    return out


@dataclass
class VersionPage:
    version: str
    digest: str
    steps: list[Any]
    impacts: dict[str, dict[str, Any]]
    impact_errors: dict[str, str]
    running: dict[str, str]  # env -> version that runs there now


def version_page(app: App, version: str) -> VersionPage | None:
    trail = VersionTrail(version)
    for position, event in events(app):
        trail.feed(position, event)
    if not trail.steps:
        return None
    envs = environments(app)
    rows = status_rows(app.ledger_location, app.settings.env, _artifact_id(app), envs, 0,
                       catch_up=lambda: app.store.refresh_views())
    running = {r["environment"]: r["version"] for r in rows if r["version"]}
    impacts: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    ran = {s.environment for s in trail.steps if s.state == "completed"}
    service = app.rollback_service() if ran else None
    for env in envs:
        if service is None or env not in ran or running.get(env) in (None, version):
            continue
        try:
            found = service.impact(version, env)
        except FloeError as err:
            errors[env] = err.message
            continue
        if found is not None:
            impacts[env] = found
    return VersionPage(version, trail.digest, trail.steps, impacts, errors, running)


def history_filter(env: str | None, operator: str | None, since: datetime | None,
                   until: datetime | None) -> HistoryFilter:
    return HistoryFilter(environments=(env,) if env else (), operator=operator or None,
                         kinds=TIMELINE_KINDS, since=since, until=until)


def timeline(app: App, keep: HistoryFilter) -> list[AuditEntry]:
    fold = HistoryFold(keep, TIMELINE_LIMIT)
    for position, event in events(app):
        fold.feed(position, event)
    return fold.entries()


def operators(app: App) -> list[str]:
    """Everyone the timeline names, for the operator filter's choices."""
    fold = HistoryFold(HistoryFilter(kinds=TIMELINE_KINDS))
    for position, event in events(app):
        fold.feed(position, event)
    return sorted({e.operator for e in fold.entries() if e.operator})


def verify(app: App, checkpoint: Any = None, public_key: Any = None) -> dict[str, Any]:
    """``floe audit verify --registry`` (with the checkpoint ``floe serve`` was given)."""
    outcome = audit_ops.verify_ledger(app, audit_ops.ledger_rows(app), registry=True,
                                      checkpoint=checkpoint, public_key=public_key)
    payload = outcome.payload()
    if not outcome.ok:
        err = outcome.error()
        payload["error"] = {"message": err.message, "hint": err.hint}
    return payload


def audit_entry(app: App, position: int) -> dict[str, Any] | None:
    """The stored event at ``position``: as stored, its recomputed hash, what it says."""
    if position < 1 or head(app) < position:
        return None
    rows = app.store.raw_notifications(position, 1)
    if not rows or rows[0].position != position:
        return None
    raw = rows[0]
    state = parse_state(raw)
    event = next((e for _, e in decoded(rows)), None)
    return {"position": raw.position, "artifact_id": raw.artifact_id, "version": raw.version,
            "kind": raw.kind, "topic": raw.topic, "state": state,
            "hash": raw_hash(raw, state) if state is not None else None,
            "prev_hash": (state or {}).get("prev_hash"),
            "summary": event_summary(event) if event is not None else "(does not decode)"}

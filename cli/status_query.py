"""Read ``status`` from the views; the fast path imports no event machinery."""

from __future__ import annotations

from typing import Any

from floe_ledger.adapters.manifest_cache import ManifestSummary, cached_summary, remember_summary
from floe_ledger.adapters.store.fastread import FastViews
from floe_ledger.cli.bootstrap import App
from floe_ledger.domain.model.artifact_id import artifact_id


def manifest_summary(app: App) -> ManifestSummary:
    """Repository and environments, from the summary cache or a full validation."""
    path = app.settings.manifest_path
    summary = cached_summary(path)
    if summary is None:
        summary = ManifestSummary(app.repository, app.manifest.artifacts.promotion.path.names)
        remember_summary(path, summary)
    return summary


def query_status(app: App, environment: str | None, history: int) -> list[dict[str, Any]]:
    """One dict per environment in path order, each with its last ``history`` events."""
    summary = manifest_summary(app)
    envs = list(summary.environments)
    if environment is not None:
        if environment not in envs:
            app.manifest.artifacts.promotion.path.index(environment)  # raises, naming the path
        envs = [environment]
    aid = str(artifact_id(summary.repository))
    loc = app.ledger_location
    fast: FastViews | None = None
    if loc.kind == "sqlite" and loc.path is not None and loc.path.exists():
        fast = FastViews(loc.path)
        if not fast.current():
            fast.close()
            fast = None
            app.store.refresh_views()
            fast = FastViews(loc.path)
    if fast is None and loc.kind == "sqlite":
        return [{"environment": e, "version": None, "digest": None, "promoted_by": None,
                 "promoted_at": None, "locked": False, "history": [] if history else None}
                for e in envs]
    reader: Any = fast if fast is not None else _StoreReader(app)
    try:
        rows = []
        for st in reader.statuses(aid, envs):
            row = st.as_dict()
            if history:
                row["history"] = [h.as_dict() for h in reader.history(aid, st.environment,
                                                                     history)]
            rows.append(row)
        return rows
    finally:
        reader.close()


class _StoreReader:
    """PostgreSQL views read with psycopg alone; the store catches them up only if behind."""

    def __init__(self, app: App) -> None:
        from floe_ledger.adapters.store.postgres import PostgresFastViews

        self.views = PostgresFastViews(app.ledger_location, app.settings.env)
        if not self.views.current():
            app.store.refresh_views()

    def statuses(self, aid: str, envs: list[str]) -> Any:
        return self.views.statuses(aid, envs)

    def history(self, aid: str, env: str, limit: int) -> Any:
        return self.views.history(aid, env, limit)

    def close(self) -> None:
        self.views.close()

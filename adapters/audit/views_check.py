"""The read models ``status`` and history show, compared with a fold of the events.

The views are derived: whoever can write the ledger database can edit a row of
``floe_env_state`` or ``floe_history`` and make ``status`` show a version the events never put
there (decisions never read the views). The audit folds every event again into an in-memory
copy of the views and compares, environment by environment; a difference is exit 14, and
``floe ledger rebuild`` folds the views again from the events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, Protocol
from uuid import UUID

from floe_ledger.adapters.store.views import EnvironmentViews
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.projections.audit import ChainBreak

HISTORY_COMPARED = 10_000


class ViewSource(Protocol):
    @property
    def views(self) -> EnvironmentViews: ...

    def view_notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]: ...


def check_views(store: ViewSource, artifact_ids: Iterable[str]) -> list[ChainBreak]:
    """One break per environment whose status or history differs from the events' fold."""
    fresh = EnvironmentViews(sqlite3.connect(":memory:"))
    fresh.create_schema()
    folded = store.views.position()  # compared as far as the views claim to have folded

    def notifications(start: int, limit: int) -> list[tuple[int, ArtifactEvent]]:
        return [(pos, e) for pos, e in store.view_notifications(start, limit) if pos <= folded]
    fresh.catch_up(notifications)
    breaks = []
    for aid in artifact_ids:
        uid = UUID(aid)
        envs = sorted(set(fresh.environments(uid)) | set(store.views.environments(uid)))
        want = {s.environment: s for s in fresh.statuses(uid, envs)}
        for got in store.views.statuses(uid, envs):
            env = got.environment
            if _row(got) != _row(want[env]) or _history(store.views, uid, env) != _history(
                    fresh, uid, env):
                breaks.append(ChainBreak(
                    aid, 0, "views", "edited",
                    f"the status and history of {env} in the ledger's views differ from what "
                    "its events fold to: the views were edited ('floe ledger rebuild' folds "
                    "them again)"))
    return breaks


def _row(status: Any) -> dict[str, Any]:
    return dict(status.as_dict())


def _history(views: EnvironmentViews, uid: UUID, env: str) -> list[dict[str, Any]]:
    return [h.as_dict() for h in views.history(uid, env, HISTORY_COMPARED)]

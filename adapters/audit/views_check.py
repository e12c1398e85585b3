"""The read models ``status`` and history show, compared with a fold of the events.

The views are derived: whoever can write the ledger database can edit a row of
``floe_env_state`` or ``floe_history`` and make ``status`` show a version the events never put
there (decisions never read the views). The audit folds every event again, in memory
(:class:`~floe_ledger.projections.views_fold.ViewFold`: a row per environment, 32 bytes per
history line), reads the ledger's views a page at a time into the same shape, and compares
each environment's status and its newest history lines; a difference is exit 14, and
``floe ledger rebuild`` folds the views again from the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from floe_ledger.adapters.store.readers import history_entry
from floe_ledger.adapters.store.views import EnvironmentViews
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.projections.audit import ChainBreak
from floe_ledger.projections.rows import ROLLING_BACK
from floe_ledger.projections.views_fold import ViewFold, ViewSide, history_digest

HISTORY_COMPARED = 10_000
PAGE = 5000


class ViewSource(Protocol):
    @property
    def views(self) -> EnvironmentViews: ...

    def view_notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]: ...


def check_views(store: ViewSource, artifact_ids: Iterable[str]) -> list[ChainBreak]:
    """One break per environment whose status or history differs from the events' fold."""
    return view_breaks(differing_views(store, store.views.position()), artifact_ids)


def differing_views(store: ViewSource, folded: int) -> set[tuple[str, str]]:
    """Every (artifact, environment) whose status or newest history in the views differs
    from the fold of the events up to position ``folded`` (where the views claim to be)."""
    fresh = ViewFold()
    position = 0
    while True:
        batch = store.view_notifications(position + 1, PAGE)
        for pos, event in batch:
            if pos <= folded:
                fresh.feed(event)
        if not batch or batch[-1][0] >= folded:
            break
        position = batch[-1][0]
    fresh.finish()
    stored = read_views(store.views)
    found = set()
    for aid in stored.artifacts() | fresh.artifacts():
        for env in stored.environments(aid) | fresh.environments(aid):
            if stored.status(aid, env) != fresh.status(aid, env) or stored.history(
                    aid, env, HISTORY_COMPARED) != fresh.history(aid, env, HISTORY_COMPARED):
                found.add((aid, env))
    return found


def view_breaks(differing: set[tuple[str, str]], artifact_ids: Iterable[str]
                ) -> list[ChainBreak]:
    """The breaks of the ``differing`` environments of ``artifact_ids``, in their order."""
    envs: dict[str, list[str]] = {}
    for aid, env in differing:
        envs.setdefault(aid, []).append(env)
    return [ChainBreak(aid, 0, "views", "edited",
                       f"the status and history of {env} in the ledger's views differ from "
                       "what its events fold to: the views were edited ('floe ledger "
                       "rebuild' folds them again)")
            for aid in artifact_ids for env in sorted(envs.get(aid, ()))]


def read_views(views: EnvironmentViews) -> ViewSide:
    """The ledger's views in the fold's shape, read a page at a time."""
    side = ViewSide()
    for r in _pages(views, "SELECT artifact_id, environment, version, digest, promoted_by, "
                    "promoted_at, via, locked, lock_reason, locked_by, locked_at FROM "
                    "floe_env_state", ("artifact_id", "environment")):
        side.rows[(str(r[0]), str(r[1]))] = list(r[1:])
    side.open_rows = [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]))
                      for r in views.conn.execute(views._sql(
                          "SELECT artifact_id, target, version, state, at FROM floe_promotions "
                          "WHERE state IN ('open', ?) ORDER BY at"), (ROLLING_BACK,)).fetchall()]
    for r in _pages(views, "SELECT position, seq, artifact_id, environment, kind, version, "
                    "digest, operator, at, reason, ref_id, details FROM floe_history",
                    ("position", "seq")):
        key = (str(r[2]), str(r[3]))
        lines = side.history_lines.get(key)
        if lines is None:
            lines = side.history_lines[key] = bytearray()
        lines += history_digest(history_entry(r[3:]))
    return side


def _pages(views: EnvironmentViews, select: str, key: tuple[str, str]
           ) -> Iterator[tuple[Any, ...]]:
    """Every row of ``select`` in ``key`` order, a page at a time (its first two columns
    are ``key``, a unique key of the table: the next page starts after the last row)."""
    order = f" ORDER BY {key[0]}, {key[1]} LIMIT ?"
    rows = views.conn.execute(views._sql(select + order), (PAGE,)).fetchall()
    while rows:
        yield from rows
        last = rows[-1]
        rows = views.conn.execute(views._sql(
            f"{select} WHERE ({key[0]}, {key[1]}) > (?, ?){order}"),
            (last[0], last[1], PAGE)).fetchall()


"""Queries on the environment views; light enough for the fast ``status`` path."""

from __future__ import annotations

import json
from typing import Any, Protocol

from floe_ledger.projections.rows import EnvironmentStatus, HistoryEntry

TRACKING_NAME = "environment_views"


class _Conn(Protocol):
    def execute(self, sql: str, params: Any = ...) -> Any: ...


def read_statuses(conn: _Conn, ph: str, artifact_id: str,
                  environments: list[str]) -> list[EnvironmentStatus]:
    """Status rows for each environment in path order ("-" rows for empty ones)."""
    # ``ph`` is the driver's placeholder ("?" or "%s"), never user input.
    rows = conn.execute(
        "SELECT environment, version, digest, promoted_by, promoted_at, via, locked, lock_reason,"  # noqa: S608
        f" locked_by, locked_at FROM floe_env_state WHERE artifact_id = {ph}",
        (artifact_id,),
    ).fetchall()
    open_rows = conn.execute(
        f"SELECT target, version FROM floe_promotions WHERE artifact_id = {ph} "  # noqa: S608
        "AND state = 'open'",
        (artifact_id,),
    ).fetchall()
    opened = {str(r[0]): str(r[1]) for r in open_rows}
    by_env = {str(r[0]): r for r in rows}
    out = []
    for env in environments:
        r = by_env.get(env)
        if r is None:
            out.append(EnvironmentStatus(environment=env, open_promotion=opened.get(env)))
            continue
        out.append(EnvironmentStatus(
            environment=env, version=r[1], digest=r[2], promoted_by=r[3], promoted_at=r[4],
            via=r[5], locked=bool(r[6]), lock_reason=r[7] or None, locked_by=r[8] or None,
            locked_at=r[9] or None, open_promotion=opened.get(env),
        ))
    return out


def read_history(conn: _Conn, ph: str, artifact_id: str, environment: str | None,
                 limit: int) -> list[HistoryEntry]:
    """The newest ``limit`` history entries, newest first."""
    sql = ("SELECT environment, kind, version, digest, operator, at, reason, ref_id, details "  # noqa: S608
           f"FROM floe_history WHERE artifact_id = {ph}")
    params: list[Any] = [artifact_id]
    if environment:
        sql += f" AND environment = {ph}"
        params.append(environment)
    sql += f" ORDER BY position DESC, seq DESC LIMIT {ph}"
    params.append(limit)
    return [
        HistoryEntry(environment=r[0], kind=r[1], version=r[2], digest=r[3], operator=r[4],
                     at=r[5], reason=r[6] or "", ref_id=r[7] or "",
                     details=json.loads(r[8] or "{}"))
        for r in conn.execute(sql, params).fetchall()
    ]

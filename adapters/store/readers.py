"""Reading the environment views for ``status``, with no event machinery.

    reader = open_reader(location, env, catch_up=store.refresh_views)   # None: no ledger yet
    reader.statuses(artifact_id, ["dev", "prod"])   # list[EnvironmentStatus], path order
    reader.history(artifact_id, "prod", 5)          # list[HistoryEntry], newest first
    reader.close()

``status`` must be quick (≤ 150 ms for the whole process). When the views are at the
head of the log they are read directly, with plain sqlite3 (:class:`SqliteViewReader`)
or psycopg alone (:class:`~floe_ledger.adapters.store.postgres.PostgresViewReader`,
imported only for a PostgreSQL ledger); both satisfy :class:`ViewReader`. When they lag,
``open_reader`` lets the caller catch them up through the store first. The queries
below are shared with :class:`~floe_ledger.adapters.store.views.EnvironmentViews`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from floe_ledger.projections.rows import (
    ROLLING_BACK,
    EnvironmentStatus,
    HistoryEntry,
    environment_status,
)

if TYPE_CHECKING:
    from floe_ledger.adapters.store.location import LedgerLocation

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
        f"SELECT target, version, state, at FROM floe_promotions WHERE artifact_id = {ph} "  # noqa: S608
        f"AND state IN ('open', {ph}) ORDER BY at",
        (artifact_id, ROLLING_BACK),
    ).fetchall()
    opened = {str(r[0]): str(r[1]) for r in open_rows if r[2] == "open"}
    rolling = {str(r[0]): (str(r[1]), str(r[3])) for r in open_rows if r[2] == ROLLING_BACK}
    by_env = {str(r[0]): r for r in rows}
    return [environment_status(env, by_env.get(env), opened.get(env), rolling.get(env))
            for env in environments]


def read_history(conn: _Conn, ph: str, artifact_id: str, environment: str | None,
                 limit: int, *, kinds: Sequence[str] | None = None,
                 version: str | None = None) -> list[HistoryEntry]:
    """The newest ``limit`` history entries, newest first; only ``kinds`` (None: all) and
    only ``version`` (None: any) when given.

    Newest by the time each row names (``at``), then by ledger position: another ledger's
    record is folded when this ledger first reads it, which may be long after it happened
    and after this ledger's own later decisions, and it keeps the time its record names.
    ``at`` is ISO 8601 in UTC from one formatter, so its text sorts as its time."""
    sql = ("SELECT environment, kind, version, digest, operator, at, reason, ref_id, details "  # noqa: S608
           f"FROM floe_history WHERE artifact_id = {ph}")
    params: list[Any] = [artifact_id]
    if environment:
        sql += f" AND environment = {ph}"
        params.append(environment)
    if kinds is not None:
        sql += f" AND kind IN ({', '.join([ph] * len(kinds))})" if kinds else " AND 1 = 0"
        params += list(kinds)
    if version is not None:
        sql += f" AND version = {ph}"
        params.append(version)
    sql += f" ORDER BY at DESC, position DESC, seq DESC LIMIT {ph}"
    params.append(limit)
    return [history_entry(r) for r in conn.execute(sql, params).fetchall()]


#: Where a history row keeps how its operator was identified (FR-045): inside the ``details``
#: column, so views built before it existed need no new column (and no migration).
_IDENTIFIED_BY = "_identified_by"


def stored_details(entry: HistoryEntry) -> str:
    """The ``details`` column of a history row: its details and how its operator was known."""
    if entry.identified_by is None:
        return json.dumps(entry.details)
    return json.dumps({**entry.details, _IDENTIFIED_BY: entry.identified_by})


def history_entry(r: Any) -> HistoryEntry:
    """A ``floe_history`` row (environment … details) as a :class:`HistoryEntry`."""
    details = json.loads(r[8] or "{}")
    identified_by = details.pop(_IDENTIFIED_BY, None)
    return HistoryEntry(environment=r[0], kind=r[1], version=r[2], digest=r[3], operator=r[4],
                        at=r[5], reason=r[6] or "", ref_id=r[7] or "", details=details,
                        identified_by=identified_by)


class ViewReader(Protocol):
    """Read-only access to the environment views (SQLite or PostgreSQL)."""

    def current(self) -> bool:
        """Whether the views hold every committed event (else: catch up, then read)."""
        ...

    def statuses(self, artifact_id: str, environments: list[str]) -> list[EnvironmentStatus]:
        """One status per environment, in the order given."""
        ...

    def history(self, artifact_id: str, environment: str | None, limit: int, *,
                kinds: Sequence[str] | None = None,
                version: str | None = None) -> list[HistoryEntry]:
        """The newest ``limit`` history entries (of one environment, or all), newest first;
        only of ``kinds`` and of ``version`` when given."""
        ...

    def close(self) -> None: ...


class SqliteViewReader:
    """:class:`ViewReader` on a SQLite ledger, opened read-only with plain sqlite3."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def current(self) -> bool:
        try:
            head = self.conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0] or 0
            row = self.conn.execute(
                "SELECT position FROM floe_tracking WHERE name = ?", (TRACKING_NAME,)
            ).fetchone()
        except sqlite3.OperationalError:
            return False
        return bool(row) and int(row[0]) >= int(head)

    def statuses(self, artifact_id: str, environments: list[str]) -> list[EnvironmentStatus]:
        return read_statuses(self.conn, "?", artifact_id, environments)

    def history(self, artifact_id: str, environment: str | None, limit: int, *,
                kinds: Sequence[str] | None = None,
                version: str | None = None) -> list[HistoryEntry]:
        return read_history(self.conn, "?", artifact_id, environment, limit, kinds=kinds,
                            version=version)

    def close(self) -> None:
        self.conn.close()


def open_reader(location: LedgerLocation, env: Mapping[str, str], *,
                catch_up: Callable[[], object]) -> ViewReader | None:
    """A reader on current views; the SQLite/PostgreSQL choice is made here.

    Args:
        location: where the ledger lives.
        env: the injected environment (PostgreSQL reads PGPASSWORD and friends from it).
        catch_up: called once when the views lag the log (the store's ``refresh_views``).

    Returns:
        The reader (the caller closes it), or None for a SQLite ledger that does not exist
        yet (nothing was ever recorded).

    Raises:
        ConfigError: the PostgreSQL server cannot be reached.
    """
    if location.kind == "sqlite":
        if location.path is None or not location.path.exists():
            return None
        reader = SqliteViewReader(location.path)
        if not reader.current():
            reader.close()
            catch_up()
            reader = SqliteViewReader(location.path)
        return reader
    from floe_ledger.adapters.store.postgres import PostgresViewReader

    pg = PostgresViewReader(location, env)
    if not pg.current():
        try:
            catch_up()
        except BaseException:
            pg.close()
            raise
    return pg


def status_rows(location: LedgerLocation, env: Mapping[str, str], artifact_id: str,
                environments: list[str], history: int, *,
                catch_up: Callable[[], object], every_kind: bool = False) -> list[dict[str, Any]]:
    """One dict per environment in the order given, each with its last ``history`` events:
    promotions, rollbacks and adoptions (:data:`DEPLOYMENTS`), or every kind of entry
    (locks, break-glass entries, refusals too) with ``every_kind``.

    A ledger that does not exist yet gives empty rows (nothing deployed, nothing locked).
    """
    reader = open_reader(location, env, catch_up=catch_up)
    if reader is None:
        return [{"environment": e, "version": None, "digest": None, "promoted_by": None,
                 "promoted_at": None, "rolled_back_by": None, "rolled_back_at": None,
                 "locked": False, "history": [] if history else None} for e in environments]
    kinds = None if every_kind else DEPLOYMENTS
    try:
        rows = []
        for st in reader.statuses(artifact_id, environments):
            row = _with_promoter(reader, artifact_id, st.as_dict())
            if history:
                row["history"] = [h.as_dict() for h in reader.history(
                    artifact_id, st.environment, history, kinds=kinds)]
            rows.append(row)
        return rows
    finally:
        reader.close()


DEPLOYMENTS = ("PROMOTED", "ROLLBACK", "ADOPTED")
"""The history kinds ``status --history N`` shows without ``--all``: how versions came to
run in an environment (refusals, locks and break-glass entries are behind ``--all``)."""


def _with_promoter(reader: ViewReader, artifact_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """``promoted_by``/``promoted_at`` name who promoted the running version into the
    environment, also after a rollback; ``rolled_back_by``/``rolled_back_at`` who rolled the
    environment back to it, and when (the views keep the rollback's operator as the
    environment's last change)."""
    row["rolled_back_by"] = row["rolled_back_at"] = None
    if row.get("via") != "rollback" or not row.get("version"):
        return row
    row["rolled_back_by"], row["rolled_back_at"] = row["promoted_by"], row["promoted_at"]
    promoted = reader.history(artifact_id, row["environment"], 1,
                              kinds=("PROMOTED", "ADOPTED"), version=row["version"])
    row["promoted_by"] = promoted[0].operator if promoted else None
    row["promoted_at"] = promoted[0].at if promoted else None
    return row

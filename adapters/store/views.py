"""Read models in the ledger's own database, updated exactly once per notification.

The view rows and the tracking position change in one transaction; a second
process catching up at the same time re-reads the position inside its
transaction and skips what is already applied. ``rebuild`` drops and refolds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol
from uuid import UUID

from floe_ledger.adapters.store.readers import (
    TRACKING_NAME,
    read_history,
    read_statuses,
    stored_details,
)
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.projections.environment import (
    AppendHistory,
    SetLive,
    SetLock,
    SetPromotion,
    project,
)
from floe_ledger.projections.rows import EnvironmentStatus, HistoryEntry

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS floe_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS floe_artifacts (artifact_id TEXT PRIMARY KEY, repository TEXT)",
    "CREATE TABLE IF NOT EXISTS floe_env_state (artifact_id TEXT NOT NULL, environment TEXT NOT "
    "NULL, version TEXT, digest TEXT, promoted_by TEXT, promoted_at TEXT, via TEXT, ref_id TEXT, "
    "locked INTEGER NOT NULL DEFAULT 0, lock_reason TEXT, locked_by TEXT, locked_at TEXT, "
    "PRIMARY KEY (artifact_id, environment))",
    "CREATE TABLE IF NOT EXISTS floe_promotions (promotion_id TEXT PRIMARY KEY, artifact_id TEXT,"
    " version TEXT, target TEXT, state TEXT, operator TEXT, at TEXT)",
    "CREATE TABLE IF NOT EXISTS floe_history (position BIGINT NOT NULL, seq INTEGER NOT NULL, "
    "artifact_id TEXT, environment TEXT, kind TEXT, version TEXT, digest TEXT, operator TEXT, "
    "at TEXT, reason TEXT, ref_id TEXT, details TEXT, PRIMARY KEY (position, seq))",
    "CREATE INDEX IF NOT EXISTS floe_history_env ON floe_history (artifact_id, environment, "
    "position)",
    # status reads a repository's open promotions: without it, a scan of every promotion
    "CREATE INDEX IF NOT EXISTS floe_promotions_artifact ON floe_promotions (artifact_id, "
    "state)",
]
TABLES = ["floe_tracking", "floe_artifacts", "floe_env_state", "floe_promotions", "floe_history"]


class Connection(Protocol):
    """The DB-API subset both sqlite3 and psycopg offer."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


Notifications = Callable[[int, int], list[tuple[int, ArtifactEvent]]]


class EnvironmentViews:
    """Environment state, promotions and history tables, folded by :func:`project`.

    Args:
        conn: a DB-API connection to the ledger database.
        placeholder: ``?`` for sqlite3, ``%s`` for psycopg.
        begin: the statement that starts a write transaction holding the tracking row.
    """

    def __init__(self, conn: Connection, *, placeholder: str = "?",
                 begin: str = "BEGIN IMMEDIATE") -> None:
        self.conn = conn
        self.ph = placeholder
        self.begin = begin

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.ph) if self.ph != "?" else sql

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), params)

    def create_schema(self) -> None:
        for stmt in SCHEMA:
            self.conn.execute(stmt)
        self.conn.commit()

    def position(self) -> int:
        row = self._x("SELECT position FROM floe_tracking WHERE name = ?", (TRACKING_NAME,)
                      ).fetchone()
        return int(row[0]) if row else 0

    def catch_up(self, notifications: Notifications, page: int = 2000,
                 head: Callable[[], int] | None = None,
                 on_page: Callable[[int], object] | None = None) -> int:
        """Apply every notification after the tracked position; returns how many.

        ``notifications`` may leave out events no view needs; ``head`` (the log's last
        position, read before the first page) then lets the position move past them.
        ``on_page(position)`` is told the position reached after each page.
        """
        applied = 0
        top = head() if head is not None else None
        while True:
            start = self.position()
            batch = notifications(start + 1, page)
            if not batch:
                if top is not None and top > start:
                    self._advance(top)
                if on_page is not None:
                    on_page(max(start, top or 0))
                return applied
            applied += self._apply_batch(batch)
            if on_page is not None:
                on_page(batch[-1][0])

    def _advance(self, position: int) -> None:
        """Move the tracked position forward over events that change no view."""
        self.conn.execute(self.begin)
        try:
            if self.position() < position:
                self._x(
                    "INSERT INTO floe_tracking (name, position) VALUES (?, ?) ON CONFLICT (name) "
                    "DO UPDATE SET position = excluded.position",
                    (TRACKING_NAME, position),
                )
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def _apply_batch(self, batch: list[tuple[int, ArtifactEvent]]) -> int:
        self.conn.execute(self.begin)
        try:
            current = self.position()
            fresh = [(pos, e) for pos, e in batch if pos > current]
            with self._pipeline():
                self._apply_all(fresh)
                if fresh:
                    self._x(
                        "INSERT INTO floe_tracking (name, position) VALUES (?, ?) ON CONFLICT "
                        "(name) DO UPDATE SET position = excluded.position",
                        (TRACKING_NAME, fresh[-1][0]),
                    )
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return len(fresh)

    def _pipeline(self) -> AbstractContextManager[Any]:
        """The driver's pipeline (psycopg: one round trip per page, not per row), if any."""
        pipeline = getattr(self.conn, "pipeline", None)
        return pipeline() if callable(pipeline) else nullcontext()

    def _apply_all(self, events: list[tuple[int, ArtifactEvent]]) -> None:
        """Every view operation of ``events``: one ``executemany`` per statement, each
        upserted key written once, as its last operation leaves it (see :func:`_collapse`)."""
        many = getattr(self.conn, "executemany", None)
        for sql, rows in _collapse(events).items():
            if not rows:
                continue
            if callable(many):
                many(self._sql(sql), rows)
            else:
                for params in rows:
                    self._x(sql, params)

    def close(self) -> None:
        """Close the connection (sqlite3 and psycopg both have ``close``)."""
        closer = getattr(self.conn, "close", None)
        if callable(closer):
            closer()

    def drop(self) -> None:
        for table in TABLES:
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        self.conn.commit()

    # ---- queries ------------------------------------------------------------------------

    def environments(self, artifact_id: UUID) -> list[str]:
        """Every environment the views hold a row or a history line for."""
        rows = self._x("SELECT environment FROM floe_env_state WHERE artifact_id = ? UNION "
                       "SELECT environment FROM floe_history WHERE artifact_id = ?",
                       (str(artifact_id), str(artifact_id))).fetchall()
        return sorted(str(r[0]) for r in rows)

    def statuses(self, artifact_id: UUID, environments: Iterable[str]) -> list[EnvironmentStatus]:
        return read_statuses(self.conn, self.ph, str(artifact_id), list(environments))

    def history(self, artifact_id: UUID, environment: str | None, limit: int) -> list[HistoryEntry]:
        return read_history(self.conn, self.ph, str(artifact_id), environment, limit)


_UPSERT_LIVE = (
    "INSERT INTO floe_env_state (artifact_id, environment, version, digest, promoted_by, "
    "promoted_at, via, ref_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (artifact_id, "
    "environment) DO UPDATE SET version = excluded.version, digest = excluded.digest, "
    "promoted_by = excluded.promoted_by, promoted_at = excluded.promoted_at, via = "
    "excluded.via, ref_id = excluded.ref_id")
_UPSERT_LOCK = (
    "INSERT INTO floe_env_state (artifact_id, environment, locked, lock_reason, locked_by, "
    "locked_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (artifact_id, environment) DO UPDATE SET "
    "locked = excluded.locked, lock_reason = excluded.lock_reason, locked_by = "
    "excluded.locked_by, locked_at = excluded.locked_at")
_UPSERT_PROMOTION = (
    "INSERT INTO floe_promotions VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (promotion_id) DO "
    "UPDATE SET state = excluded.state, at = excluded.at")
_INSERT_ARTIFACT = (
    "INSERT INTO floe_artifacts VALUES (?, ?) ON CONFLICT (artifact_id) DO NOTHING")
_INSERT_HISTORY = "INSERT INTO floe_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _collapse(events: list[tuple[int, ArtifactEvent]]) -> dict[str, list[Sequence[Any]]]:
    """The rows each statement writes for ``events``, as applying their operations one by
    one would leave the tables.

    An environment row's live columns are those of its last SetLive, its lock columns those
    of its last SetLock (the two upserts write different columns, so they commute); a
    promotion row keeps what its first SetPromotion wrote (the upsert changes only its state
    and time) with the last state and time; an artifact row is its first (DO NOTHING);
    every history line is kept.
    """
    live: dict[tuple[str, str], Sequence[Any]] = {}
    lock: dict[tuple[str, str], Sequence[Any]] = {}
    promotions: dict[str, list[Any]] = {}
    artifacts: dict[str, Sequence[Any]] = {}
    history: list[Sequence[Any]] = []
    ids: dict[UUID, str] = {}
    for pos, event in events:
        for seq, op in enumerate(project(event)):
            o: Any = op  # dispatched on its exact type below
            aid = ids.get(o.artifact_id)
            if aid is None:
                aid = ids[o.artifact_id] = str(o.artifact_id)
            kind = type(o)
            if kind is AppendHistory:
                h = o.entry
                history.append((pos, seq, aid, h.environment, h.kind, h.version, h.digest,
                                h.operator, h.at, h.reason, h.ref_id, stored_details(h)))
            elif kind is SetPromotion:
                found = promotions.get(o.promotion_id)
                if found is None:
                    promotions[o.promotion_id] = [o.promotion_id, aid, o.version, o.target,
                                                  o.state, o.operator, o.at]
                else:
                    found[4], found[6] = o.state, o.at
            elif kind is SetLive:
                live[(aid, o.environment)] = (aid, o.environment, o.version, o.digest, o.by,
                                              o.at, o.via, o.ref_id)
            elif kind is SetLock:
                lock[(aid, o.environment)] = (aid, o.environment, int(o.locked), o.reason, o.by,
                                              o.at)
            else:  # RegisterArtifact
                artifacts.setdefault(aid, (aid, o.repository))
    return {_INSERT_ARTIFACT: list(artifacts.values()), _UPSERT_LIVE: list(live.values()),
            _UPSERT_LOCK: list(lock.values()), _UPSERT_PROMOTION: list(promotions.values()),
            _INSERT_HISTORY: history}

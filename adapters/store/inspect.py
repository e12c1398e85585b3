"""Looking at a ledger without touching it: ``floe doctor`` and shell completion.

    facts = inspect_ledger(location, env)        # kind, tables, events, schema, views lag
    recorded_versions(location, env, aid, "prod")  # versions promoted into prod, newest first

Neither creates a file, a table or a row, nor folds the views: SQLite is opened read-only
(``mode=ro``; a ledger that does not exist yet stays absent), PostgreSQL only SELECTs. The
event store itself (which creates what is missing) is never opened here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from floe_ledger.adapters.store.location import LedgerLocation
from floe_ledger.adapters.store.readers import TRACKING_NAME

SQLITE_EVENTS = "stored_events"  # eventsourcing's SQLite table names
SQLITE_SNAPSHOTS = "stored_snapshots"
#: History kinds that put a version into an environment (what rollback may return to).
LIVE_KINDS = ("PROMOTED", "ROLLBACK", "ADOPTED")


@dataclass(frozen=True)
class LedgerFacts:
    """What a ledger holds, as far as can be seen without changing it.

    Attributes:
        kind: ``sqlite`` (one machine's file) or ``postgresql`` (shared).
        display: where it is, without a password.
        exists: False for a SQLite file not created yet.
        events: stored events.
        missing_tables: tables floe expects that are not there.
        schema_versions: the event schema versions stored (``v1``...).
        unknown_topics: stored event topics this floe does not know (a newer floe's).
        views_behind: events the status and history views have not folded yet.
    """

    kind: str
    display: str
    exists: bool = True
    events: int = 0
    missing_tables: tuple[str, ...] = ()
    schema_versions: tuple[str, ...] = ()
    unknown_topics: tuple[str, ...] = ()
    views_behind: int = 0

    @property
    def shared(self) -> bool:
        return self.kind == "postgresql"


def inspect_ledger(location: LedgerLocation, env: Mapping[str, str]) -> LedgerFacts:
    """The facts of the ledger at ``location``.

    Raises:
        ConfigError: the PostgreSQL server cannot be reached or refuses the login (exit 2).
        IntegrityError: the SQLite file is not a database SQLite can read (exit 14).
    """
    if location.kind == "sqlite":
        return _inspect_sqlite(location)
    return _inspect_postgres(location, env)


def _inspect_sqlite(location: LedgerLocation) -> LedgerFacts:
    from floe_ledger.adapters.store.eventstore import damaged_ledger
    from floe_ledger.adapters.store.views import TABLES

    path = location.path
    if path is None or not path.exists():
        return LedgerFacts("sqlite", location.display, exists=False)
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        with damaged_ledger(location):
            tables = {str(r[0]) for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            wanted = [SQLITE_EVENTS, SQLITE_SNAPSHOTS, *TABLES]
            missing = tuple(t for t in wanted if t not in tables)
            if SQLITE_EVENTS in missing:
                return LedgerFacts("sqlite", location.display, missing_tables=missing)
            topics = conn.execute(f"SELECT topic, COUNT(*) FROM {SQLITE_EVENTS} "  # noqa: S608
                                  "GROUP BY topic").fetchall()
            head = conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {SQLITE_EVENTS}"  # noqa: S608
                                ).fetchone()[0]
            position = _position(conn, "?") if "floe_tracking" in tables else 0
    finally:
        conn.close()
    return _facts("sqlite", location.display, missing, topics, int(head) - position)


def _inspect_postgres(location: LedgerLocation, env: Mapping[str, str]) -> LedgerFacts:
    from floe_ledger.adapters.store.postgres import (
        EVENTS_TABLE,
        PgConnection,
        connect,
        missing_tables,
        postgres_target,
    )

    target = postgres_target(location, env)
    conn = PgConnection(connect(target))
    try:
        missing = tuple(missing_tables(conn))
        if EVENTS_TABLE in missing:
            return LedgerFacts("postgresql", location.display, missing_tables=missing)
        topics = conn.execute(f"SELECT topic, COUNT(*) FROM public.{EVENTS_TABLE} "  # noqa: S608
                              "GROUP BY topic").fetchall()
        head = conn.execute("SELECT COALESCE(MAX(notification_id), 0) FROM "  # noqa: S608
                            f"public.{EVENTS_TABLE}").fetchone()[0]
        position = _position(conn, "%s") if "floe_tracking" not in missing else 0
    finally:
        conn.close()
    return _facts("postgresql", location.display, missing, topics, int(head) - position)


def _position(conn: Any, ph: str) -> int:
    row = conn.execute(f"SELECT position FROM floe_tracking WHERE name = {ph}",  # noqa: S608
                       (TRACKING_NAME,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _facts(kind: str, display: str, missing: tuple[str, ...], topics: list[Any],
           behind: int) -> LedgerFacts:
    known = known_topics()
    counts = {str(topic): int(count) for topic, count in topics}
    versions = sorted({t.rsplit(".", 1)[-1] for t in counts if t in known})
    return LedgerFacts(kind, display, events=sum(counts.values()), missing_tables=missing,
                       schema_versions=tuple(versions),
                       unknown_topics=tuple(sorted(t for t in counts if t not in known)),
                       views_behind=max(behind, 0))


def known_topics() -> frozenset[str]:
    """The event topics this floe reads (``floe.ledger/PromotionCompleted.v1``...)."""
    from floe_ledger.domain.model.events import ArtifactEvent

    found: set[str] = set()
    pending: list[type[ArtifactEvent]] = [ArtifactEvent]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "TOPIC" in cls.__dict__ and cls is not ArtifactEvent:
            found.add(cls.TOPIC)
    return frozenset(found)


def recorded_versions(location: LedgerLocation, env: Mapping[str, str], artifact_id: str,
                      environment: str | None = None) -> list[str]:
    """Versions the views say went into ``environment`` (or anywhere), newest first.

    Read from the history view as it stands (not caught up: that would write); [] when
    there is no ledger yet. Errors are the caller's to swallow (completion never fails).
    """
    sql = ("SELECT version FROM floe_history WHERE artifact_id = ? AND version <> '' "  # noqa: S608
           f"AND kind IN ({', '.join('?' for _ in LIVE_KINDS)})")
    params: list[Any] = [artifact_id, *LIVE_KINDS]
    if environment:
        sql += " AND environment = ?"
        params.append(environment)
    sql += " GROUP BY version ORDER BY MAX(position) DESC"
    if location.kind == "sqlite":
        if location.path is None or not location.path.exists():
            return []
        conn = sqlite3.connect(f"{location.path.as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            return [str(r[0]) for r in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()
    from floe_ledger.adapters.store.postgres import PgConnection, connect, postgres_target

    pg = PgConnection(connect(postgres_target(location, env)))
    try:
        return [str(r[0]) for r in pg.execute(sql.replace("?", "%s"), params).fetchall()]
    finally:
        pg.close()

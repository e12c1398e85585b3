"""Outbox tables in the ledger's own database: the piece the webhook and archive outboxes share.

    with open_outbox(store, env, lambda conn, ph, begin: Outbox(conn, placeholder=ph,
                     begin=begin, probe=LocalProcessProbe()), lock_key=KEY) as outbox:
        outbox.enqueue_new(...)          # rows and the tracking position in one transaction

:class:`OutboxTable` is the base of both outboxes: one DB-API connection in autocommit mode
with explicit transactions (``BEGIN IMMEDIATE`` on SQLite, ``BEGIN`` on PostgreSQL) and
``?`` placeholders rewritten for psycopg. :func:`open_outbox` opens the ledger's database
(the SQLite file in WAL mode, or PostgreSQL with the schema's DDL serialised by an advisory
lock) and ensures the outbox's tables.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from floe_ledger.adapters.store.views import Connection


class LeaseProbe(Protocol):
    """Who holds a lease, and whether that process still runs (LocalProcessProbe)."""

    def owner(self) -> str: ...
    def alive(self, owner: str) -> bool | None: ...


def retry_delay(rounds: int) -> float:
    """Seconds before an automatic retry after ``rounds`` failed rounds: 1 min doubling to 1 h."""
    return float(min(60 * 2 ** max(0, rounds - 1), 3600))


class OutboxTable:
    """Rows in the ledger database, changed in explicit transactions.

    Args:
        conn: a DB-API connection in autocommit mode (transactions are explicit): sqlite3
            with ``isolation_level=None``, or the PostgreSQL adapter's PgConnection.
        placeholder: ``?`` for sqlite3, ``%s`` for psycopg.
        begin: the statement that opens a write transaction.
        clock: seconds since the epoch (tests pass their own).
        probe: who this process is (``owner()``, kept with each lease it takes) and whether
            another lease holder still runs (``alive(owner)``): the lease of a process that
            died (SIGKILL mid-delivery) is taken over at once instead of when it expires.
    """

    def __init__(self, conn: Connection, *, placeholder: str = "?",
                 begin: str = "BEGIN IMMEDIATE", clock: Callable[[], float] = time.time,
                 probe: LeaseProbe | None = None) -> None:
        self.conn = conn
        self.ph = placeholder
        self.begin = begin
        self.clock = clock
        self.probe = probe

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql.replace("?", self.ph) if self.ph != "?" else sql, params)

    def _transaction(self, work: Callable[[], Any]) -> Any:
        self.conn.execute(self.begin)
        try:
            result = work()
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return result

    def create_schema(self) -> None:  # pragma: no cover - every outbox defines its own
        raise NotImplementedError


T = TypeVar("T", bound=OutboxTable)


@contextmanager
def open_outbox(store: Any, env: Mapping[str, str], make: Callable[[Any, str, str], T], *,
                lock_key: int) -> Iterator[T]:
    """An outbox in the ledger's own database (SQLite file or PostgreSQL), tables ensured.

    Args:
        store: an EventStoreLedger (its ``location`` names the database).
        env: the injected environment (PGPASSWORD for PostgreSQL).
        make: builds the outbox from (connection, placeholder, begin statement).
        lock_key: the advisory lock that serialises this outbox's DDL on a shared PostgreSQL.
    """
    location = store.location
    if location.kind == "postgresql":
        from floe_ledger.adapters.store.postgres import PgConnection, connect, postgres_target

        pg = PgConnection(connect(postgres_target(location, env)))
        try:
            pg.execute("BEGIN")
            pg.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
            outbox = make(pg, "%s", "BEGIN")
            outbox.create_schema()  # commits, which releases the lock
            yield outbox
        finally:
            pg.close()
        return
    conn = sqlite3.connect(location.path, timeout=30, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        outbox = make(conn, "?", "BEGIN IMMEDIATE")
        outbox.create_schema()
        yield outbox
    finally:
        conn.close()

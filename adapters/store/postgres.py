"""The ledger on a shared PostgreSQL, named by ``FLOE_LEDGER_URL=postgresql://...``.

* :func:`postgres_env` turns the URL into eventsourcing's settings (PostgreSQL persistence,
  a small pool, DB functions off so every insert takes the table lock,
  docs/design-notes.md#p5-db-functions-off).
* :func:`open_postgres_store` is what a runner uses: ``CREATE_TABLE=no`` (concurrent DDL at
  start-up fails, docs/design-notes.md#p4-startup-ddl-race); missing tables are a
  ConfigError telling to run ``floe ledger init``.
* :func:`init_postgres` is ``floe ledger init``: events and view tables, once, under an
  advisory lock so that two inits at the same time do not race either.
* :class:`PostgresViewReader` reads ``status`` with psycopg alone when the views are current.

The password comes from the URL or ``PGPASSWORD`` in the injected environment (never from
os.environ directly); it is not logged, and connection errors are scrubbed of it.

TLS (security review §18): off loopback the ledger is reached with ``sslmode`` at least
``require``. The mode comes from ``?sslmode=`` in the URL, else ``PGSSLMODE`` in the injected
environment, else it is ``require``; ``disable``, ``allow`` or ``prefer`` for a host that is
not loopback is a ConfigError. On loopback nothing is added (libpq's default applies).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg

from floe_ledger.adapters.observability.redact import register_secret
from floe_ledger.adapters.store.location import LedgerLocation
from floe_ledger.adapters.store.readers import TRACKING_NAME, read_history, read_statuses
from floe_ledger.adapters.store.stream_lock import PgStreamLock
from floe_ledger.adapters.system.net import is_loopback
from floe_ledger.domain.model.errors import ConfigError

if TYPE_CHECKING:  # imported where used: the status fast path needs neither
    from floe_ledger.adapters.store.eventstore import EventStoreLedger
    from floe_ledger.adapters.store.views import EnvironmentViews
    from floe_ledger.projections.rows import EnvironmentStatus, HistoryEntry

EVENTS_TABLE = "ledger_events"  # eventsourcing: lower-cased application name + "_events"
SNAPSHOTS_TABLE = "ledger_snapshots"  # ... and + "_snapshots" (snapshots every 100 events)
VIEWS_BEGIN = "BEGIN; LOCK TABLE floe_tracking IN EXCLUSIVE MODE"  # serialises catch-ups
INIT_LOCK_KEY = 0x666C6F65  # "floe": pg_advisory_lock key held by `floe ledger init`
CONNECT_TIMEOUT = 5
HEAD_SQL = (  # tracked position and log head; both names are constants
    "SELECT (SELECT position FROM floe_tracking WHERE name = %s), "  # noqa: S608
    f"(SELECT COALESCE(MAX(notification_id), 0) FROM public.{EVENTS_TABLE})"
)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
WEAK_SSL_MODES = ("disable", "allow", "prefer")  # TLS optional: refused off loopback
INIT_HINT = "run 'floe ledger init' once with the same FLOE_LEDGER_URL before the runners start"


@dataclass(frozen=True)
class PostgresTarget:
    """Connection parameters parsed from the URL; the password is kept out of ``repr``."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(default="", repr=False)
    display: str = ""
    sslmode: str | None = None  # None: libpq's default (loopback only)

    def scrub(self, text: str) -> str:
        """``text`` with the password replaced, for messages that quote a driver error."""
        return text.replace(self.password, "***") if self.password else text


def postgres_target(location: LedgerLocation, env: Mapping[str, str]) -> PostgresTarget:
    """Parse ``postgresql://user[:password]@host[:port]/dbname``.

    Missing parts fall back to PGUSER, PGHOST, PGPORT, PGDATABASE and PGPASSWORD from ``env``.

    Raises:
        ConfigError: no user, a bad port, query parameters other than ``sslmode``, or an
            sslmode weaker than ``require`` for a host that is not loopback.
    """
    parts = urlsplit(location.url or "")
    where = location.display
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if set(query) - {"sslmode"} or (parts.query and not query):
        names = ", ".join(sorted(set(query) - {"sslmode"})) or parts.query
        raise ConfigError(
            f"ledger {where}: URL parameters other than sslmode are not supported ({names})",
            hint="remove them; libpq settings such as PGSSLROOTCERT can be set in the environment",
        )
    try:
        port = parts.port or int(env.get("PGPORT") or 5432)
    except ValueError:
        raise ConfigError(f"ledger {where}: the port is not a number",
                          hint="use postgresql://user@host:5432/dbname") from None
    user = unquote(parts.username or "") or env.get("PGUSER") or ""
    if not user:
        raise ConfigError(f"ledger {where}: no database user",
                          hint="use postgresql://user@host:port/dbname (or set PGUSER)")
    password = unquote(parts.password or "") or env.get("PGPASSWORD") or ""
    register_secret(password)  # masked in every log line and scrubbed text of this run
    dbname = unquote(parts.path.lstrip("/")) or env.get("PGDATABASE") or user
    host = parts.hostname or env.get("PGHOST") or "localhost"
    sslmode = _sslmode(host, query.get("sslmode") or env.get("PGSSLMODE") or None, where)
    return PostgresTarget(host, port, dbname, user, password, where, sslmode)


def _sslmode(host: str, asked: str | None, where: str) -> str | None:
    """The sslmode to connect with: ``require`` unless stronger is asked, off loopback."""
    if asked is not None and asked not in SSL_MODES:
        raise ConfigError(f"ledger {where}: unknown sslmode {asked!r}",
                          hint=f"use one of {', '.join(SSL_MODES)}")
    local = host.startswith("/") or is_loopback(host)  # a Unix socket directory is local
    if local:
        return asked
    if asked in WEAK_SSL_MODES:
        raise ConfigError(
            f"ledger {where}: sslmode={asked} lets the connection to {host} run without TLS, "
            "so the password and every event could be read or changed on the way",
            hint="use sslmode=require, verify-ca or verify-full (in FLOE_LEDGER_URL or "
            "PGSSLMODE); verify-full also checks the server's certificate",
            details={"sslmode": asked, "host": host},
        )
    return asked or "require"


def postgres_env(target: PostgresTarget, *, create_tables: bool) -> dict[str, str]:
    """eventsourcing settings for ``target`` (the injected env of LedgerApplication)."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": target.host,
        "POSTGRES_PORT": str(target.port),
        "POSTGRES_DBNAME": target.dbname,
        "POSTGRES_USER": target.user,
        "POSTGRES_PASSWORD": target.password,
        # A runner uses the ledger from one thread: one pooled connection for the events
        # (its statements prepared once per connection by eventsourcing) and one more only
        # if a call ever nests; the views and the stream lock have the store's own one.
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_MAX_OVERFLOW": "1",
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        # No aggregate cache here: it deep-copies the aggregate on every load (30 ms for a
        # stream of a few hundred promotions); EventStoreLedger.load fast-forwards the
        # aggregate its last save left instead.
        "CREATE_TABLE": "y" if create_tables else "n",
    }


def connect(target: PostgresTarget) -> psycopg.Connection[Any]:
    """An autocommit psycopg connection; a failure is a ConfigError without the password."""
    try:
        return psycopg.connect(
            host=target.host, port=target.port, dbname=target.dbname, user=target.user,
            password=target.password, connect_timeout=CONNECT_TIMEOUT, autocommit=True,
            sslmode=target.sslmode,  # None is left out: libpq's default (loopback only)
        )
    except psycopg.Error as err:
        reason = target.scrub(str(err).strip().splitlines()[-1] if str(err).strip() else "")
        raise ConfigError(
            f"cannot connect to the ledger {target.display}: {reason}",
            hint="check FLOE_LEDGER_URL, that the server is up, and the password "
            "(in the URL or PGPASSWORD)",
        ) from None


class PgConnection:
    """A psycopg connection shaped like the DB-API subset EnvironmentViews uses.

    Autocommit, with explicit ``BEGIN`` from the views; statements without parameters are
    never auto-prepared (the views' begin statement holds two commands).
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if params:
            return self.raw.execute(sql, params)
        return self.raw.execute(sql, prepare=False)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many parameter rows (pipelined by psycopg)."""
        with self.raw.cursor() as cur:
            cur.executemany(sql, rows)

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def pipeline(self) -> AbstractContextManager[Any]:
        """Batch the statements of one catch-up page (fewer round trips)."""
        return self.raw.pipeline() if not self.raw.closed else nullcontext()

    def close(self) -> None:
        self.raw.close()


def missing_tables(conn: PgConnection) -> list[str]:
    """The ledger tables that do not exist in the database."""
    from floe_ledger.adapters.store.views import TABLES

    wanted = [f"public.{EVENTS_TABLE}", f"public.{SNAPSHOTS_TABLE}", *TABLES]
    rows = conn.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL",
                        (wanted,)).fetchall()
    return [str(r[0]).removeprefix("public.") for r in rows]


def postgres_views(conn: PgConnection) -> EnvironmentViews:
    """EnvironmentViews on PostgreSQL: ``%s`` placeholders, catch-ups serialised by a lock."""
    from floe_ledger.adapters.store.views import EnvironmentViews

    return EnvironmentViews(conn, placeholder="%s", begin=VIEWS_BEGIN)


def open_postgres_store(location: LedgerLocation, env: Mapping[str, str], *,
                        create_tables: bool = False) -> EventStoreLedger:
    """The store for a runner: tables must exist (``floe ledger init``).

    Raises:
        ConfigError: the server is unreachable, the login fails, or tables are missing.
    """
    from floe_ledger.adapters.store.eventstore import EventStoreLedger

    target = postgres_target(location, env)
    conn = PgConnection(connect(target))
    try:
        if not create_tables:
            missing = missing_tables(conn)
            if missing:
                raise ConfigError(
                    f"the ledger {target.display} has no tables yet "
                    f"(missing: {', '.join(missing)})",
                    hint=INIT_HINT,
                )
        _pool_sslmode(target)
        conn.raw.prepare_threshold = 0  # a runner repeats the same few statements
        return EventStoreLedger(location, env=postgres_env(target, create_tables=create_tables),
                                views=postgres_views(conn), create_tables=create_tables,
                                stream_lock=PgStreamLock(conn))
    except BaseException:
        conn.close()
        raise


def _pool_sslmode(target: PostgresTarget) -> None:
    """eventsourcing's connection pool takes no sslmode setting, and libpq reads PGSSLMODE
    from the process environment, so the mode chosen here reaches the pool that way (one
    ledger per floe process)."""
    if target.sslmode:
        os.environ["PGSSLMODE"] = target.sslmode


def init_postgres(location: LedgerLocation, env: Mapping[str, str]) -> list[str]:
    """Create the events and view tables once; returns the tables that were missing.

    Concurrent inits wait for each other on an advisory lock, so none races on DDL.
    """
    target = postgres_target(location, env)
    lock = PgConnection(connect(target))
    try:
        lock.execute("SELECT pg_advisory_lock(%s)", (INIT_LOCK_KEY,))
        missing = missing_tables(lock)
        if missing:
            store = open_postgres_store(location, env, create_tables=True)
            store.close()
        return missing
    finally:
        lock.close()  # ends the session, which releases the advisory lock


class PostgresViewReader:
    """``status`` reads with psycopg alone (no eventsourcing): a ``readers.ViewReader``.

    ``current()`` says whether the views hold every committed event; when they do not, the
    caller catches up through the store first.
    """

    def __init__(self, location: LedgerLocation, env: Mapping[str, str]) -> None:
        self.conn = PgConnection(connect(postgres_target(location, env)))

    def current(self) -> bool:
        try:
            row = self.conn.execute(HEAD_SQL, (TRACKING_NAME,)).fetchone()
        except psycopg.Error:
            self.conn.rollback()
            return False
        return row is not None and row[0] is not None and int(row[0]) >= int(row[1])

    def statuses(self, artifact_id: str, environments: list[str]) -> list[EnvironmentStatus]:
        return read_statuses(self.conn, "%s", artifact_id, environments)

    def history(self, artifact_id: str, environment: str | None, limit: int, *,
                kinds: Sequence[str] | None = None,
                version: str | None = None) -> list[HistoryEntry]:
        return read_history(self.conn, "%s", artifact_id, environment, limit, kinds=kinds,
                            version=version)

    def close(self) -> None:
        self.conn.close()


"""Fresh ledgers for tests: a SQLite file, or a new database on a real PostgreSQL.

The PostgreSQL server is the one named by FLOE_TEST_POSTGRES_URL, which
``scripts/with-postgres.sh`` exports (``make test`` runs the suite under it). Without it
the PostgreSQL cases fail: they are never skipped.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

POSTGRES_URL_VAR = "FLOE_TEST_POSTGRES_URL"
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_server_url() -> str:
    """The test server's URL, or a test failure saying how to get one."""
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.fail(f"{POSTGRES_URL_VAR} is not set: run the tests under "
                    "scripts/with-postgres.sh (make test does)", pytrace=False)
    return url


@contextmanager
def fresh_postgres_url() -> Iterator[str]:
    """A URL naming a new, empty database on the test server; dropped afterwards."""
    server = postgres_server_url()
    name = f"floe_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        _drop(server, name)


def _drop(server: str, name: str) -> None:
    """Drop the database. FORCE ends the tests' own sessions; a server process of another
    role (an autovacuum worker that just started on it) cannot be ended by the ledger role,
    so that case is waited out and retried. The whole server is thrown away after the run,
    so a database still there after the retries costs nothing."""
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    for attempt in range(20):
        try:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(statement)
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            time.sleep(0.1 * (attempt + 1))


@contextmanager
def fresh_ledger_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A FLOE_LEDGER_URL for an empty ledger of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger' / 'ledger.sqlite'}"
        return
    with fresh_postgres_url() as url:
        yield url

"""Fresh ledgers for tests: a SQLite file, or a new database on a real PostgreSQL.

The PostgreSQL server is the one named by FLOE_TEST_POSTGRES_URL, which
``scripts/with-postgres.sh`` exports (``make test`` runs the suite under it). Without it
the PostgreSQL cases fail: they are never skipped.
"""

from __future__ import annotations

import os
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
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


@contextmanager
def fresh_ledger_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A FLOE_LEDGER_URL for an empty ledger of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger' / 'ledger.sqlite'}"
        return
    with fresh_postgres_url() as url:
        yield url

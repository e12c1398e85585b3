"""End-to-end fixtures: each test gets its own directory, ledger and registry repository.

Tests using ``workspace`` run twice: on the embedded SQLite ledger and on a real
PostgreSQL (a fresh database on the server scripts/with-postgres.sh starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.ledger_db import KINDS, fresh_postgres_url
from support.registry_server import RegistryServer
from support.workspace import Workspace, make_workspace


@pytest.fixture(params=KINDS)
def workspace(request: pytest.FixtureRequest, tmp_path: Path, registry_server: RegistryServer,
              repo_name: str) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path, registry_server, repo_name)
    if request.param == "sqlite":
        yield ws
        return
    with fresh_postgres_url() as url:
        ws.env["FLOE_LEDGER_URL"] = url
        init = ws.run("ledger", "init")
        assert init.returncode == 0, init.stderr
        yield ws


@pytest.fixture
def sqlite_workspace(tmp_path: Path, registry_server: RegistryServer,
                     repo_name: str) -> Workspace:
    """For tests that edit the SQLite file itself (tampering)."""
    return make_workspace(tmp_path, registry_server, repo_name)

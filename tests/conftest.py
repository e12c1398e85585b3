"""Shared fixtures: real registries on 127.0.0.1, each in its own mktemp directory."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest

from support.crash_cells import Cell, table
from support.registry_server import RegistryServer, start_registry

USERS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}
_repo_counter = itertools.count()


@pytest.fixture(scope="session")
def registry_server() -> Iterator[RegistryServer]:
    """A plain-http registry with no auth, shared by the session (use a fresh repo per test)."""
    server = start_registry()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def auth_registry_server() -> Iterator[RegistryServer]:
    """A plain-http registry with htpasswd basic auth and two users (USERS)."""
    server = start_registry(users=USERS)
    yield server
    server.cleanup()


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses."""
    return f"floe-test/r{next(_repo_counter)}-{abs(hash(request.node.nodeid)) % 10**8}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The crash-point table (tests/e2e/test_crash_points.py), one row per cell run.

    Here, not in tests/e2e/conftest.py: under xdist only this conftest is loaded by the
    controller, which prints the summary."""
    cells = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(report, "user_properties", []):
                if name == "crash_cells":
                    cells += [Cell(row[0], int(row[1]), *row[2:]) for row in json.loads(value)]
    if cells:
        cells.sort(key=lambda c: (c.command, c.backend, c.step))
        terminalreporter.write_sep("=", f"crash points: {len(cells)} cells")
        terminalreporter.write_line(table(cells))

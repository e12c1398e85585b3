"""Shared fixtures: real registries on 127.0.0.1, each in its own mktemp directory."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fault_matrix import render_table
from support.fuzz_report import PROPERTY, publish, summary_rows
from support.registry_server import RegistryServer, start_registry
from support.s3_server import CREDENTIALS, S3Server, start_s3
from support.tables import ENV as TABLES_ENV
from support.tables import render_tables

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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto's) on 127.0.0.1, with dummy credentials in the
    environment so boto3's standard chain finds them (use a fresh bucket per test)."""
    saved = {key: os.environ.get(key) for key in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    server = start_s3()
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses."""
    return f"floe-test/r{next(_repo_counter)}-{abs(hash(request.node.nodeid)) % 10**8}"


# ---- the fault matrix's table (tests/e2e/test_fault_matrix.py) ---------------------------
# Here, not in tests/e2e/conftest.py: under pytest-xdist the controller process collects
# nothing, so only this conftest's hooks run where the workers' reports arrive.

_fault_cells: dict[tuple[str, str], str] = {}
_fuzz_reports: list[pytest.TestReport] = []  # see the hostile-input note below


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # the fuzz tally fixture adds its rows when it is torn down: the teardown report has them
    if report.when == "teardown" and any(k == PROPERTY for k, _ in report.user_properties):
        _fuzz_reports.append(report)
    if report.when != "call":
        return
    props = dict(report.user_properties)
    if "fault_cell" in props:
        fault, step = props["fault_cell"]
        _fault_cells[(fault, step)] = (str(props.get("fault_result", "✗"))
                                       if report.passed else "✗ FAILED")


def pytest_configure(config: pytest.Config) -> None:
    """The controller makes the folder result tables go to; xdist workers inherit it."""
    if not hasattr(config, "workerinput"):
        os.environ[TABLES_ENV] = tempfile.mkdtemp(prefix="floe-tables-")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if hasattr(terminalreporter.config, "workerinput"):
        return
    folder = os.environ.get(TABLES_ENV)
    if not folder:
        return
    if _fault_cells:
        terminalreporter.write_sep("=", "fault matrix (docs/fault-matrix.md)")
        terminalreporter.write_line(render_table(_fault_cells))
    lines = render_tables(Path(folder))
    if lines:
        terminalreporter.section("result tables")
        for line in lines:
            terminalreporter.write_line(line)
    shutil.rmtree(folder, ignore_errors=True)


# Hostile-input fuzzing (tests/fuzz): each test's tally travels in its report's
# user_properties, so xdist workers' counts reach the controller, which merges them by
# category into one result table before the summary prints the tables.
def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        publish(summary_rows(_fuzz_reports))

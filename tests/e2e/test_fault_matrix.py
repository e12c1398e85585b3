"""The fault matrix (issue 13, item 1; NFR-004, TXN-01..05, EDGE-03, EDGE-11, EDGE-12).

Every fault the proxy injects (down, 500, 429 with Retry-After, timeout, a body cut
mid-way, the process SIGKILLed in flight) at every step of a promotion (resolve source,
signature fetch, env tag PUT, latest PUT, record PUT, replica write, webhook) ends
with the documented exit code and a ledger that agrees with the registry or shows exactly
what is unfinished (and ``status`` says so); the same command re-run with the fault
removed completes with no duplicate events, tags or records. Rows, columns and the
expected codes are in ``support/fault_matrix.py``; the table is printed at the end of the
run (``tests/conftest.py``) and kept in ``docs/fault-matrix.md``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fault_cell import PROMOTE, fault_rig, run_cell
from support.fault_matrix import FAULTS, RECORD_PUTS, STEPS, Step
from support.ledger_db import fresh_postgres_url
from support.registry_server import RegistryServer, start_registry
from support.workspace import Workspace

CELL = "fault_cell"
RESULT = "fault_result"


@pytest.fixture(scope="session")
def replica_server() -> Iterator[RegistryServer]:
    """A second real registry, the replica of the replica column."""
    server = start_registry()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cosign key pair (``keys/trusted.key``, ``.pub``), made once by floe itself."""
    root = tmp_path_factory.mktemp("keys")
    proc = Workspace(root, "", {}, env={"PATH": "/usr/bin:/bin", "HOME": str(root)}).run(
        "artifact", "keygen", "keys/trusted")
    assert proc.returncode == 0, proc.stderr
    return root / "keys"


@pytest.mark.requirement("NFR-004", "TXN-01", "TXN-02", "TXN-03", "TXN-04", "TXN-05",
                         "EDGE-03", "EDGE-11", "EDGE-12", "FR-030", "FR-043")
@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_at_a_step_ends_consistent_and_a_rerun_completes(
        fault: str, step: str, tmp_path: Path, registry_server: RegistryServer,
        replica_server: RegistryServer, repo_name: str, signing_keys: Path,
        request: pytest.FixtureRequest) -> None:
    request.node.user_properties.append((CELL, [fault, step]))
    with fault_rig(tmp_path, registry_server, replica_server, repo_name, step,
                   signing_keys) as rig:
        text = run_cell(rig, fault, step)
    request.node.user_properties.append((RESULT, text))


@pytest.mark.postgres
@pytest.mark.requirement("NFR-004", "TXN-03", "TXN-04", "FR-043")
@pytest.mark.parametrize(("fault", "step"), [("SIGKILL", "env tag PUT"),
                                             ("cut", "latest PUT"), ("SIGKILL", "webhook")])
def test_a_fault_on_a_postgresql_ledger_resumes_the_same(
        fault: str, step: str, tmp_path: Path, registry_server: RegistryServer,
        replica_server: RegistryServer, repo_name: str, signing_keys: Path) -> None:
    with fresh_postgres_url() as url, fault_rig(tmp_path, registry_server, replica_server,
                                                repo_name, step, signing_keys, url) as rig:
        assert rig.ws.postgres
        run_cell(rig, fault, step)


@pytest.mark.requirement("NFR-004", "EDGE-03")
def test_a_registry_that_keeps_answering_429_ends_in_exit_5_naming_the_rate_limit(
        tmp_path: Path, registry_server: RegistryServer, replica_server: RegistryServer,
        repo_name: str, signing_keys: Path) -> None:
    with fault_rig(tmp_path, registry_server, replica_server, repo_name, "env tag PUT",
                   signing_keys) as rig:
        proxy = rig.proxies["primary"]
        proxy.fault("429", method="PUT", path=STEPS["env tag PUT"].path, times=None)
        started = time.monotonic()
        code, out = rig.ws.json(*PROMOTE)
        elapsed = time.monotonic() - started
        assert code == 5, out
        assert "rate-limiting" in out["error"]["message"]
        assert "rate limit" in out["error"]["hint"]
        assert out["error"]["details"]["retry_after"] == 1
        assert proxy.count(method="PUT", path=STEPS["env tag PUT"].path) == 3  # bounded
        assert elapsed >= 2.0  # waited Retry-After: 1 twice
        proxy.clear()
        code, out = rig.ws.json(*PROMOTE)
        assert code == 0 and out["resumed"] is True, out


@pytest.mark.requirement("NFR-004", "TXN-04", "FR-026")
@pytest.mark.parametrize("nth", [2], ids=["referrers-index"])
def test_a_process_killed_at_any_put_of_its_record_leaves_one_record(
        nth: int, tmp_path: Path, registry_server: RegistryServer,
        replica_server: RegistryServer, repo_name: str, signing_keys: Path) -> None:
    """The matrix kills floe at the record's first PUT (its manifest by digest); here at the
    second (the referrers index). The record has no tag: its id among the subject's
    referrers is what a re-run looks for, so it finds an indexed record and writes none;
    a manifest stored but never indexed is listed nowhere, and the re-run lists one."""
    with fault_rig(tmp_path, registry_server, replica_server, repo_name, "record PUT",
                   signing_keys) as rig:
        run_cell(rig, "SIGKILL", "record PUT", Step("primary", "PUT", RECORD_PUTS, nth=nth))

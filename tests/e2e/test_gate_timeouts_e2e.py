"""Gate timeouts (issue 14 item 2, FR-012a..d): an environment's ``gate_timeout_seconds``
caps every gate of that environment, also one whose ``gate_commands`` entry (or the
security scan's default of 600 s) asks for longer; a dry run shows each gate's timeout.
`floe` runs as a process against the real registry."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from support.workspace import Workspace

DATA = Path(__file__).resolve().parent.parent / "data" / "scanners"
TIMEOUTS = pytest.mark.requirement("FR-012a", "FR-012b", "FR-012c", "FR-012d", "CFG-10")


def _manifest(ws: Workspace, tests: list[str]) -> None:
    shutil.copy(DATA / "trivy-image-debian-buster.json", ws.root / "trivy.json")
    ws.write_manifest(promotion={
        "environments": [
            {"name": "dev", "gate_timeout_seconds": 30,
             "gates": {"tests": True, "security_scan": {"report": "trivy.json",
                                                         "block_on_severity": []}}},
            {"name": "staging", "gates": {"tests": True}}],
        "gate_commands": {"tests": {"command": tests, "timeout_seconds": 600}},
    })


@TIMEOUTS
def test_a_dry_run_shows_each_gates_timeout_and_what_the_environment_capped(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    _manifest(ws, [sys.executable, "-c", "print('ok')"])
    ws.push("v1.0.0")
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev", "--dry-run")
    assert code == 0, out
    by_gate = {g["gate"]: g for g in out["gate_results"]}
    assert (by_gate["tests"]["timeout_seconds"], by_gate["tests"]["timeout_requested"]) == (
        30, 600)
    assert (by_gate["security_scan"]["timeout_seconds"],
            by_gate["security_scan"]["timeout_requested"]) == (30, 600)  # its default
    assert by_gate["policy_compliance"]["timeout_seconds"] is None  # runs no command
    text = ws.run("platform", "promote", "v1.0.0", "--to", "dev", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert ("timeout 30 s, capped from 600 s by the environment's gate_timeout_seconds"
            in text.stdout)
    # staging sets no gate_timeout_seconds: the gate_commands entry's 600 s stands
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging",
                        "--dry-run")
    assert code == 0, out
    tests = next(g for g in out["gate_results"] if g["gate"] == "tests")
    assert (tests["timeout_seconds"], tests["timeout_requested"]) == (600, None)


@TIMEOUTS
@pytest.mark.requirement("EXIT-8", "NFR-003")
def test_the_environment_cap_stops_a_gate_that_asked_for_ten_minutes(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    _manifest(ws, [sys.executable, "-c", "import time; time.sleep(600)"])
    ws.push("v1.0.0")
    started = time.monotonic()
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    took = time.monotonic() - started
    assert code == 8, out
    tests = next(g for g in out["gate_results"] if g["gate"] == "tests")
    assert tests["error"] == "Gate execution timed out after 30 seconds"
    assert (tests["timeout_seconds"], tests["timeout_requested"]) == (30, 600)
    assert 30 <= took < 50, took
    recorded = ws.events("GateFailed")[-1]["result"]
    assert (recorded["gate"], recorded["timeout_seconds"]) == ("tests", 30)

"""Gate lines name what matters (issue 14 item 6, CLI-07), `floe` run as a process against
the real registry with the real Trivy and Grype reports of tests/data/scanners:

- a security gate lists the findings at or above the warning band (the severity below the
  lowest that blocks) with package, installed and fixed versions, the totals per severity
  and how many were ignored as unfixed;
- a failed command gate shows its argv and the last lines of its output, scrubbed, on the
  output only: neither the ledger nor the registry record keeps them;
- ``gates 4/5 passed, 1 skipped``: a skipped gate is not a passed one;
- several failed gates are each named with their own message, in text and in JSON.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from support.workspace import Workspace

DATA = Path(__file__).resolve().parent.parent / "data" / "scanners"
TOKEN = "ghp_" + "A1b2C3d4E5" * 4
FAILING = f"""
import sys
for i in range(1, 13):
    print(f"collected line {{i}}")
print("using token {TOKEN}", file=sys.stderr)
print("AssertionError: expected 200, got 500", file=sys.stderr)
sys.exit(3)
"""
GATES = pytest.mark.requirement("CLI-07", "FR-011", "FR-056", "SCAN-05", "SCAN-07", "US12")


def _manifest(ws: Workspace, grype_digest: str | None = None) -> None:
    """staging: two gates that fail; dev (with the digest Grype's report is bound to, §17):
    three that pass, the scan with a warning."""
    script = ws.root / "failing_gate.py"
    script.write_text(FAILING)
    shutil.copy(DATA / "trivy-image-debian-buster.json", ws.root / "trivy.json")
    ok = [sys.executable, "-c", "print('ok')"]
    dev: dict = {}
    if grype_digest is not None:
        grype = json.loads((DATA / "grype-image.json").read_text())
        grype["source"]["target"]["manifestDigest"] = grype_digest
        (ws.root / "grype.json").write_text(json.dumps(grype))
        dev = {"tests": True, "cost_analysis": True,
               "security_scan": {"report": "grype.json", "scanner_format": "grype",
                                 "ignore_unfixed": True}}
    ws.write_manifest(promotion={
        "environments": [
            {"name": "dev", "gates": dev},
            {"name": "staging", "gates": {
                "tests": {"command": [sys.executable, str(script), "${TARGET_ENV}"]},
                "security_scan": {"report": "trivy.json"}, "lint": True}}],
        "gate_commands": {"tests": {"command": ok}, "cost_analysis": {"command": ok},
                          "lint": {"command": ok}},
    })


@GATES
def test_passing_gates_count_skipped_apart_and_the_scan_lists_what_it_ignored(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    digest = ws.push("v1.0.0")
    _manifest(ws, digest)
    proc = ws.run("platform", "promote", "v1.0.0", "--to", "dev")
    assert proc.returncode == 0, proc.stderr
    lines = [line.strip() for line in proc.stdout.splitlines()]
    assert "gates       4/5 passed, 1 skipped" in lines
    scan = next(i for i, line in enumerate(lines) if line.startswith("warning  security_scan"))
    assert lines[scan].endswith("1 finding(s) at MEDIUM or above")
    # the CRITICAL one, unfixed and ignored, is listed; the LOW one (below the band) is not
    assert lines[scan + 1:scan + 3] == [
        "CRITICAL CVE-1999-0002  package-2 2.2.2 (no fix)  ignored: no fix",
        "totals   CRITICAL 1, LOW 1; 1 ignored as unfixed",
    ]
    assert "CVE-1999-0001" not in proc.stdout
    assert any(line.startswith("skipped  performance_baseline") for line in lines)


@GATES
@pytest.mark.requirement("SC-007", "EXIT-8")
def test_every_failed_gate_is_named_with_its_own_message_argv_and_output_tail(
        workspace: Workspace) -> None:
    ws = workspace
    _manifest(ws)
    ws.push("v1.0.0")
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0

    human = ws.run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert human.returncode == 8, human.stderr
    err = [line.strip() for line in human.stderr.splitlines()]
    assert "gates       2/6 passed, 2 failed, 2 skipped" in err
    tests = next(i for i, line in enumerate(err) if line.startswith("failed   tests"))
    assert err[tests].endswith(
        "gate command exited with code 3: AssertionError: expected 200, got 500")
    assert err[tests + 1] == f"argv     {sys.executable} {ws.root / 'failing_gate.py'} staging"
    assert err[tests + 2:tests + 12] == [
        *(f"stdout   collected line {i}" for i in range(5, 13)),
        "stderr   using token [REDACTED]",
        "stderr   AssertionError: expected 200, got 500"]
    scan = next(i for i, line in enumerate(err) if line.startswith("failed   security_scan"))
    assert err[scan + 1:scan + 3] == [
        "CRITICAL CVE-2019-18224  libidn2-0 2.0.5-1 (fixed in 2.0.5-1+deb10u1)  blocks",
        "totals   CRITICAL 1, LOW 1; 0 ignored as unfixed"]
    error = next(line for line in err if line.startswith("error:"))
    assert error.startswith("error: gates 'tests', 'security_scan' failed: tests: gate command "
                            "exited with code 3")
    assert "; security_scan: 1 blocking vulnerability at CRITICAL/HIGH: CVE-2019-18224" in error
    assert TOKEN not in human.stdout + human.stderr

    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 8, out
    failures = out["error"]["details"]["failures"]
    assert [f["gate"] for f in failures] == ["tests", "security_scan"]
    assert failures[0]["error"].endswith("AssertionError: expected 200, got 500")
    assert failures[1]["error"].startswith("1 blocking vulnerability at CRITICAL/HIGH")
    by_gate = {g["gate"]: g for g in out["gate_results"]}
    assert "collected line 12" in by_gate["tests"]["details"]["stdout_tail"]
    assert "[REDACTED]" in by_gate["tests"]["details"]["stderr_tail"]
    blocking = by_gate["security_scan"]["security_summary"]["blocking"]
    assert [(f["id"], f["package"], f["installed_version"], f["fixed_version"])
            for f in blocking] == [("CVE-2019-18224", "libidn2-0", "2.0.5-1", "2.0.5-1+deb10u1")]
    # the tail is output only: the ledger keeps the argv and exit code, never the output
    recorded = [e["result"] for e in ws.events("GateFailed") if e["result"]["gate"] == "tests"]
    assert len(recorded) == 2 and all(r["details"]["exit_code"] == 3 for r in recorded)
    ledger = json.dumps(ws.events("GateFailed") + ws.events("PromotionRejected"))
    assert "collected line" not in ledger and "stdout_tail" not in ledger
    assert "stderr_tail" not in ledger and TOKEN not in ledger


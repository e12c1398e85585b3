"""Gates end to end (US2, US12, FR-006..012): gates stop promotions with exit 8, and dry-run
predicts it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support.workspace import list_tags

DATA = Path(__file__).resolve().parent.parent / "data" / "scanners"


def gated(workspace, staging_gates: dict, commands: dict | None = None):
    workspace.write_manifest(promotion={
        "environments": [{"name": "dev"}, {"name": "staging", "gates": staging_gates},
                         {"name": "prod"}],
        "gate_commands": commands or {},
    })
    workspace.push("v1.0.0")
    assert workspace.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    return workspace


FAILING_TESTS = {"tests": {"command": ["python3", "-c",
                                       "import sys; print('3 tests failed in suite for "
                                       "${TARGET_ENV}'); sys.exit(1)"]}}


@pytest.mark.requirement("FR-006", "FR-011", "US1", "SC-007", "EXIT-8")
def test_a_failing_tests_gate_exits_8_tags_nothing_and_records_the_output(workspace) -> None:
    ws = gated(workspace, {"tests": True}, FAILING_TESTS)
    before = list_tags(ws.registry_uri)
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 8, out
    assert "tests" in out["error"]["message"]
    failed = [g for g in out["gate_results"] if g["status"] == "failed"]
    assert [g["gate"] for g in failed] == ["tests"]
    assert list_tags(ws.registry_uri) == before
    recorded = ws.events("GateFailed")[-1]["result"]
    assert recorded["gate"] == "tests"
    assert "3 tests failed in suite for staging" in str(recorded["details"])
    assert ws.event_kinds()[-1] == "PromotionRejected"
    human = ws.run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert human.returncode == 8 and "not tagged" in human.stderr


@pytest.mark.requirement("FR-007", "SC-005", "US2")
def test_dry_run_reports_the_same_verdict_and_writes_nothing(workspace) -> None:
    ws = gated(workspace, {"tests": True}, FAILING_TESTS)
    before = ws.event_kinds()
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging",
                        "--dry-run")
    assert code == 8
    assert out["dry_run"] is True and out["would_succeed"] is False
    assert out["blocking"][0]["code"] == "gate_failed"
    assert ws.event_kinds() == before
    human = ws.run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging",
                   "--dry-run")
    assert human.returncode == 8 and "BLOCKED" in human.stdout


@pytest.mark.requirement("FR-054", "FR-056", "FR-057", "US12", "SCAN-01")
def test_the_real_trivy_report_with_a_critical_cve_blocks(workspace) -> None:
    shutil.copy(DATA / "trivy-image-debian-buster.json", workspace.root / "trivy.json")
    ws = gated(workspace, {"security_scan": {"report": "trivy.json"}})
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 8
    scan = next(g for g in out["gate_results"] if g["gate"] == "security_scan")
    assert scan["status"] == "failed"
    assert "CVE-2019-18224" in str(scan)
    assert scan["security_summary"]["by_severity"]["CRITICAL"] >= 1


@pytest.mark.requirement("FR-010", "FR-012")
def test_gates_differ_per_environment_and_policy_always_runs(workspace) -> None:
    ws = gated(workspace, {"tests": True},
               {"tests": {"command": ["python3", "-c", "print('ok')"]}})
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 0, out
    statuses = {g["gate"]: g["status"] for g in out["gate_results"]}
    assert statuses["policy_compliance"] == "passed"
    assert statuses["tests"] == "passed"
    assert len(ws.events("GatePassed")) >= 2

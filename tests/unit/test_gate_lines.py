"""Gate timeouts and what a gate line names (issue 14 items 2 and 6): the environment's cap,
the scan's warning band, the gate count, the recorded form without output tails."""

from __future__ import annotations

import pytest

from floe_ledger.cli.render.gates import gate_count, render_gates
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.model.gates import GateCommand, GatesConfig, plan_gates
from floe_ledger.domain.model.scan import Finding, Severity, summarize


@pytest.mark.requirement("FR-012a", "FR-012d", "CFG-10")
def test_the_environment_caps_every_gate_and_says_what_it_capped() -> None:
    gates = GatesConfig.model_validate({"tests": {"timeout_seconds": 900}, "lint": True,
                                        "security_scan": {"report": "r.json"}})
    commands = {"tests": GateCommand(command="t"), "lint": GateCommand(command="l",
                                                                        timeout_seconds=40)}
    by_name = {s.name: s for s in plan_gates("prod", gates, commands, 60, env_cap=60)}
    assert (by_name["tests"].timeout_seconds, by_name["tests"].timeout_requested) == (60, 900)
    assert (by_name["security_scan"].timeout_seconds,
            by_name["security_scan"].timeout_requested) == (60, 600)
    assert (by_name["lint"].timeout_seconds, by_name["lint"].timeout_requested) == (40, None)
    uncapped = {s.name: s for s in plan_gates("prod", gates, commands, 60)}
    assert uncapped["tests"].timeout_seconds == 900


def finding(vid: str, severity: str, *, fixed: bool = True) -> Finding:
    return Finding(id=vid, severity=Severity(severity), package="p", installed_version="1",
                   fixed=fixed, fixed_version="2" if fixed else "")


@pytest.mark.requirement("FR-056", "SCAN-05", "US12")
def test_the_warning_band_is_the_severity_below_the_lowest_that_blocks() -> None:
    found = [finding("L", "LOW"), finding("M", "MEDIUM"), finding("C", "CRITICAL", fixed=False),
             finding("H", "HIGH"), finding("U", "UNKNOWN")]
    summary = summarize(found, ["CRITICAL", "HIGH"], ignore_unfixed=True)
    assert summary.warning_band is Severity.MEDIUM
    assert [f.id for f in summary.notable()] == ["H", "C", "M"]  # blocking first
    assert summarize(found, ["CRITICAL"], ignore_unfixed=False).warning_band is Severity.HIGH
    assert summarize(found, ["LOW", "UNKNOWN"], ignore_unfixed=False).warning_band is \
        Severity.NEGLIGIBLE


@pytest.mark.requirement("FR-011", "ENT-02", "CLI-07")
def test_a_skipped_gate_is_counted_apart_from_the_passed_ones() -> None:
    statuses = ["passed", "warning", "passed", "passed", "skipped"]
    gates = [GateResult(gate=f"g{i}", status=GateStatus(s)) for i, s in enumerate(statuses)]
    assert gate_count(gates) == "4/5 passed, 1 skipped"
    gates.append(GateResult.failed("tests", "boom"))
    assert gate_count(gates) == "4/6 passed, 1 failed, 1 skipped"


@pytest.mark.requirement("CLI-07", "FR-011")
def test_a_failed_command_shows_argv_and_tail_which_the_ledger_never_keeps() -> None:
    failed = GateResult.failed("tests", "gate command exited with code 1: boom",
                               command=["pytest", "-q", "a b"], exit_code=1,
                               stdout_tail="\n".join(f"l{i}" for i in range(20)),
                               stderr_tail="boom [red]")
    lines: list[str] = []
    render_gates(lines.append, [failed])
    assert lines[2:] == [
        "               argv     pytest -q 'a b'",
        *(f"               stdout   l{i}" for i in range(12, 20)),
        "               stderr   boom \\[red]"]
    recorded = failed.recorded()
    assert recorded["details"] == {"command": ["pytest", "-q", "a b"], "exit_code": 1}

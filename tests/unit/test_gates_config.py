"""Gate configuration: validation messages name the path; plan_gates builds the run list."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from floe_ledger.domain.model.errors import ConfigError, ExitCode
from floe_ledger.domain.model.gates import (
    GateCommand,
    GatesConfig,
    SecurityGateConfig,
    config_error,
    plan_gates,
)


def problems(data: Any, model: Any = GatesConfig) -> list[str]:
    """Validation problems as 'dotted.path: message' lines under environments[1].gates."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    error = config_error(caught.value, "artifacts.promotion.environments[1].gates")
    assert isinstance(error, ConfigError)
    assert error.exit_code is ExitCode.USAGE
    return list(error.details["problems"])


@pytest.mark.requirement("FR-010", "CFG-09")
def test_policy_compliance_cannot_be_switched_off() -> None:
    [problem] = problems({"policy_compliance": False})
    assert problem.startswith("artifacts.promotion.environments[1].gates.policy_compliance: ")
    assert "cannot be switched off" in problem


@pytest.mark.requirement("FR-054", "CFG-25")
def test_an_unknown_severity_is_named_by_its_full_path() -> None:
    [problem] = problems({"security_scan": {"block_on_severity": ["CRITICAL", "SEVERE"]}})
    assert problem.startswith(
        "artifacts.promotion.environments[1].gates.security_scan.block_on_severity[1]: ")
    assert "'CRITICAL', 'HIGH', 'MEDIUM', 'LOW' or 'UNKNOWN'" in problem


@pytest.mark.requirement("NFR-002", "FR-012a")
@pytest.mark.parametrize("timeout", [29, 3601, 0, -5])
def test_timeouts_outside_30_to_3600_are_refused(timeout: int) -> None:
    [problem] = problems({"tests": {"command": "make test", "timeout_seconds": timeout}})
    assert problem.startswith("artifacts.promotion.environments[1].gates.tests.timeout_seconds")
    with pytest.raises(ValidationError):
        GateCommand(command="x", timeout_seconds=timeout)
    with pytest.raises(ValidationError):
        SecurityGateConfig(timeout_seconds=timeout)


@pytest.mark.requirement("NFR-001", "CFG-28")
def test_defaults_are_300_for_commands_and_600_for_the_scanner() -> None:
    assert GateCommand(command="x").timeout_seconds == 300
    cfg = SecurityGateConfig()
    assert (cfg.timeout_seconds, cfg.scanner_format, cfg.ignore_unfixed) == (600, "trivy", False)
    assert cfg.block_on_severity == ["CRITICAL", "HIGH"]


@pytest.mark.requirement("CFG-09")
@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"tests": "yes"}, "gates.tests: ", "must be true, false or a mapping"),
        ({"tests": {"cmd": "x"}}, "gates.tests.cmd: ", "Extra inputs"),
        ({"security_scan": {"command": "trivy", "report": "r.json"}}, "gates.security_scan: ",
         "not both"),
        ({"security_scan": {"scanner_format": "snyk"}}, "gates.security_scan.scanner_format: ",
         "'trivy' or 'grype'"),
        ({"lint": {"command": "ruff ${NOPE}"}}, "gates.lint.command: ", "unknown placeholder"),
        ({"lint": {"command": "echo 'unterminated"}}, "gates.lint.command: ", "cannot split"),
        ({"lint": {"command": []}}, "gates.lint.command: ", "the command is empty"),
        ({"Bad Name": True}, "gates: ", "must match"),
    ],
)
def test_each_bad_setting_is_reported_at_its_path(data: Any, path: str, words: str) -> None:
    [problem] = problems(data)
    assert f"environments[1].{path}" in problem
    assert words in problem


@pytest.mark.requirement("FR-008", "FR-012")
def test_only_policy_runs_when_nothing_else_is_enabled() -> None:
    specs = plan_gates("dev", GatesConfig(), {})
    assert [(s.name, s.kind) for s in specs] == [("policy_compliance", "policy")]
    assert GatesConfig().disabled() == [
        "tests", "security_scan", "cost_analysis", "performance_baseline"]


@pytest.mark.requirement("FR-006", "FR-008", "FR-012", "CFG-23")
def test_gates_take_commands_from_gate_commands_in_canonical_order() -> None:
    gates = GatesConfig.model_validate({
        "smoke": {"command": ["./smoke.sh", "${ARTIFACT_REF}"]},
        "performance_baseline": True, "tests": True, "cost_analysis": False,
        "security_scan": True,
    })
    commands = {
        "tests": GateCommand(command="pytest -q --ref ${ARTIFACT_REF}"),
        "performance_baseline": GateCommand(command=["bench", "run"], timeout_seconds=900),
        "security_scan": GateCommand(command="trivy image -f json ${ARTIFACT_REF}"),
    }
    specs = plan_gates("prod", gates, commands, env_timeout_seconds=120)
    assert [s.name for s in specs] == [
        "policy_compliance", "tests", "security_scan", "performance_baseline", "smoke"]
    by_name = {s.name: s for s in specs}
    assert by_name["tests"].argv == ("pytest", "-q", "--ref", "${ARTIFACT_REF}")
    assert by_name["tests"].timeout_seconds == 120  # the environment's timeout
    assert by_name["performance_baseline"].timeout_seconds == 900  # its own explicit one
    assert by_name["security_scan"].argv[:2] == ("trivy", "image")
    assert by_name["security_scan"].timeout_seconds == 600  # SecurityGateConfig default
    assert by_name["smoke"].argv == ("./smoke.sh", "${ARTIFACT_REF}")
    assert all(s.error is None for s in specs)


@pytest.mark.requirement("FR-012d")
def test_an_inline_timeout_beats_gate_commands_which_beats_the_environment() -> None:
    gates = GatesConfig.model_validate({
        "tests": {"timeout_seconds": 45},
        "security_scan": {"timeout_seconds": 1200},
        "lint": True,
    })
    commands = {"tests": GateCommand(command="t", timeout_seconds=900),
                "lint": GateCommand(command="l"),
                "security_scan": GateCommand(command="s", timeout_seconds=60)}
    by_name = {s.name: s for s in plan_gates("staging", gates, commands, 200)}
    assert by_name["tests"].timeout_seconds == 45
    assert by_name["tests"].argv == ("t",)
    assert by_name["security_scan"].timeout_seconds == 1200
    assert by_name["lint"].timeout_seconds == 200


@pytest.mark.requirement("FR-006", "SC-007")
def test_an_enabled_gate_without_a_command_is_planned_to_fail_closed() -> None:
    gates = GatesConfig.model_validate({"tests": True, "security_scan": {"ignore_unfixed": True}})
    by_name = {s.name: s for s in plan_gates("staging", gates, {})}
    assert by_name["tests"].error == (
        "gate 'tests' is enabled for staging but artifacts.promotion.gate_commands "
        "has no command for it")
    assert by_name["security_scan"].error is not None
    assert by_name["security_scan"].error.startswith("gate 'security_scan' is enabled for staging")


@pytest.mark.requirement("CFG-24")
def test_a_security_scan_may_read_a_report_file_instead_of_running_a_scanner() -> None:
    gates = GatesConfig.model_validate(
        {"security_scan": {"report": "scan.json", "scanner_format": "grype"}})
    [_, spec] = plan_gates("staging", gates, {})
    assert spec.error is None
    assert spec.argv == ()
    assert spec.security is not None
    assert spec.security.report == "scan.json"


@pytest.mark.requirement("CFG-33")
def test_the_json_schema_offers_true_false_or_an_object_for_each_gate() -> None:
    schema = GatesConfig.model_json_schema()
    assert schema["properties"]["tests"]["anyOf"][0] == {"type": "boolean"}
    assert schema["properties"]["security_scan"]["anyOf"][1]["$ref"].endswith(
        "SecurityGateConfig")
    assert schema["additionalProperties"]["anyOf"][0] == {"type": "boolean"}

"""GateResult invariants and the verdict over a promotion's gate results."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from floe_ledger.domain.model.errors import ExitCode, GateFailedError
from floe_ledger.domain.model.gate_results import (
    GateResult,
    GateStatus,
    GateVerdict,
    gate_failure,
    verdict,
)


def result(status: GateStatus, gate: str = "tests") -> GateResult:
    error = "it broke" if status is GateStatus.FAILED else None
    return GateResult(gate=gate, status=status, error=error)


results_lists = st.lists(
    st.builds(result, st.sampled_from(list(GateStatus)),
              st.sampled_from(["policy_compliance", "tests", "security_scan", "custom"])),
    max_size=12,
)


@pytest.mark.requirement("FR-011", "ENT-02")
def test_statuses_are_the_four_lowercase_values() -> None:
    assert [s.value for s in GateStatus] == ["passed", "failed", "skipped", "warning"]


@pytest.mark.requirement("ENT-03")
def test_a_failed_result_must_say_why() -> None:
    with pytest.raises(ValidationError, match="failed without an error message"):
        GateResult(gate="tests", status=GateStatus.FAILED)


@pytest.mark.requirement("ENT-03")
def test_duration_cannot_be_negative_and_results_are_frozen() -> None:
    with pytest.raises(ValidationError):
        GateResult(gate="tests", status=GateStatus.PASSED, duration_ms=-1)
    ok = GateResult(gate="tests", status=GateStatus.PASSED)
    with pytest.raises(ValidationError):
        ok.status = GateStatus.FAILED  # type: ignore[misc]


@pytest.mark.requirement("FR-011")
def test_results_round_trip_through_json() -> None:
    original = GateResult.failed("tests", "exit 1", exit_code=1, command=["make", "test"])
    assert GateResult.model_validate_json(original.model_dump_json()) == original
    assert original.model_dump(mode="json")["status"] == "failed"


@pytest.mark.requirement("FR-006", "ENT-02")
@given(results_lists)
def test_any_failed_gate_blocks_and_nothing_else_does(results: list[GateResult]) -> None:
    any_failed = any(r.status is GateStatus.FAILED for r in results)
    assert verdict(results) is (GateVerdict.BLOCKED if any_failed else GateVerdict.PASSED)
    assert (gate_failure(results) is not None) == any_failed


@pytest.mark.requirement("ENT-02")
@given(st.lists(st.sampled_from([GateStatus.PASSED, GateStatus.WARNING, GateStatus.SKIPPED])))
def test_warnings_and_skips_never_block(statuses: list[GateStatus]) -> None:
    assert verdict([result(s) for s in statuses]) is GateVerdict.PASSED


@pytest.mark.requirement("SC-007", "US1")
def test_the_gate_failure_names_each_failed_gate_and_maps_to_exit_8() -> None:
    results = [
        result(GateStatus.PASSED, "policy_compliance"),
        GateResult.failed("tests", "gate command exited with code 2: 3 tests failed"),
        result(GateStatus.WARNING, "security_scan"),
    ]
    error = gate_failure(results)
    assert isinstance(error, GateFailedError)
    assert error.exit_code is ExitCode.GATE_FAILED
    assert error.message == "gate 'tests' failed: tests: gate command exited with code 2: " \
        "3 tests failed"
    assert error.details["failed_gates"] == ["tests"]
    assert error.details["failures"] == [
        {"gate": "tests", "error": "gate command exited with code 2: 3 tests failed"}]
    # the results themselves (output tails included) are added by the promotion after the
    # refusal is recorded: the ledger keeps them without tails (security review §9)
    assert "gate_results" not in error.details


def test_skipped_results_say_why() -> None:
    skipped = GateResult.skipped("cost_analysis")
    assert skipped.status is GateStatus.SKIPPED
    assert skipped.details == {"reason": "not enabled for this environment"}

"""What ``floe platform promote`` prints on a terminal, line by line, at 100 columns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from floe_ledger.cli.render.promotion import render_promotion
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.services.requests import PromoteResult

DIGEST = "sha256:" + "ab" * 32


PROMOTED = PromoteResult("6f1c", "v1.2.3", DIGEST, "v1.2.3-dev", "dev", "staging",
                         tags=["v1.2.3-staging", "latest-staging"])


def result(**fields: Any) -> PromoteResult:
    return replace(PROMOTED, **fields)


@pytest.mark.requirement("FR-001", "FR-002", "FR-003", "US1", "US4", "FR-031", "FR-033")
def test_a_promotion_names_the_digest_each_tag_each_gate_the_signature_and_the_trace(
        terminal) -> None:
    render_promotion(terminal.out, result(
        gate_results=[
            GateResult.model_validate(g) for g in (
                {"gate": "tests", "status": "passed", "duration_ms": 1200},
                {"gate": "scan", "status": "warning", "duration_ms": 350,
                 "error": "2 MEDIUM [x]"},
                {"gate": "policy", "status": "skipped"})
        ],
        signature={"status": "verified", "mode": "key", "key_fingerprint": "SHA256:" + "f" * 60},
    ))
    assert terminal.lines() == [
        "Promoted v1.2.3 from dev to staging",
        f"  digest      {DIGEST}",
        "  tag         v1.2.3-staging (immutable)",
        "  tag         latest-staging (mutable)",
        "  gates       2/3 passed, 1 skipped",
        "    passed   tests (1200 ms)",
        "    warning  scan (350 ms): 2 MEDIUM [x]",
        "    skipped  policy",
        "  signature   verified key SHA256:fffffffffffffffffffffffffffffffff",
        "  trace id    4bf92f3577b34da6a3ce929d0e0e4736",
    ]


@pytest.mark.requirement("FR-001", "FR-002", "FR-003", "US1", "US4", "FR-031", "FR-033")
def test_entering_the_first_environment_names_the_release_tag_as_the_source(terminal) -> None:
    render_promotion(terminal.out, result(source=None, artifact_tag="v1.2.3", target="dev",
                                          tags=["v1.2.3-dev", "latest-dev"]))
    assert terminal.lines() == [
        "Promoted v1.2.3 from release tag v1.2.3 to dev",
        f"  digest      {DIGEST}",
        "  tag         v1.2.3-dev (immutable)",
        "  tag         latest-dev (mutable)",
        "  gates       none configured",
        "  trace id    4bf92f3577b34da6a3ce929d0e0e4736",
    ]


@pytest.mark.requirement("FR-007", "SC-005", "US2")
def test_a_blocked_dry_run_says_why_and_what_it_would_write(terminal) -> None:
    render_promotion(terminal.out, result(
        dry_run=True,
        blocking=[{"code": "gate_failed", "exit_code": 8,
                   "message": "gate tests failed: 3 tests failed"}],
        gate_results=[GateResult(gate="tests", status=GateStatus.FAILED, duration_ms=40,
                                 error="3 tests failed")],
        estimate={"gates": ["tests"], "estimated_ms": 2500, "runs": 4},
    ))
    assert terminal.lines() == [
        "Dry run: promote v1.2.3 from dev to staging: BLOCKED",
        "  blocked: gate tests failed: 3 tests failed",
        "  gates to run: tests (~2.5 s from 4 past gate runs)",
        f"  digest      {DIGEST}",
        "  would write v1.2.3-staging (immutable)",
        "  would write latest-staging (mutable)",
        "  gates       0/1 passed, 1 failed",
        "    failed   tests (40 ms): 3 tests failed",
        "  trace id    4bf92f3577b34da6a3ce929d0e0e4736",
    ]


@pytest.mark.requirement("FR-007", "SC-005", "US2")
def test_a_dry_run_without_past_gate_runs_says_it_cannot_estimate(terminal) -> None:
    render_promotion(terminal.out, result(
        dry_run=True, tags=[], estimate={"gates": ["tests"], "estimated_ms": None, "runs": 0}))
    assert terminal.lines()[:2] == [
        "Dry run: promote v1.2.3 from dev to staging: would succeed",
        "  gates to run: tests (no past runs to estimate from)",
    ]


@pytest.mark.requirement("TAG-06", "TXN-05", "EDGE-02", "FR-032")
def test_promoting_again_with_force_and_the_same_digest_writes_nothing(terminal) -> None:
    render_promotion(terminal.out, result(nothing_written=True, tags=[]))
    assert terminal.lines() == [
        "v1.2.3 is already in staging; nothing written",
        f"  digest      {DIGEST}",
        "  gates       none configured",
        "  trace id    4bf92f3577b34da6a3ce929d0e0e4736",
    ]


@pytest.mark.requirement("NFR-004", "TXN-03", "TXN-05")
def test_a_resumed_promotion_says_so(terminal) -> None:
    render_promotion(terminal.out, result(resumed=True, tags=[]))
    assert terminal.lines()[0] == "Resumed and promoted v1.2.3 from dev to staging"

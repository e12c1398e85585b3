"""The security gate's decision on real scanner reports (US12, FR-054..057, SCAN-05/06)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from floe_ledger.adapters.gates.security import evaluate_report
from floe_ledger.domain.model.gate_results import GateStatus
from floe_ledger.domain.model.gates import SecurityGateConfig

_CANDIDATES = (
    Path(__file__).resolve().parents[1] / "data" / "scanners",
)


def sample(name: str) -> Any:
    for folder in _CANDIDATES:
        if (folder / name).exists():
            return json.loads((folder / name).read_text())
    raise FileNotFoundError(name)


def trivy() -> Any:
    return sample("trivy-image-debian-buster.json")


def as_medium_only(report: Any) -> Any:
    """The real Trivy report with every finding re-rated MEDIUM."""
    for result in report["Results"]:
        for vuln in result.get("Vulnerabilities") or []:
            vuln["Severity"] = "MEDIUM"
    return report


def run(report: Any, **config: Any) -> Any:
    return evaluate_report("security_scan", json.dumps(report), SecurityGateConfig(**config))


@pytest.mark.requirement("FR-054", "US12")
def test_real_trivy_report_blocks_by_default_on_the_fixed_critical() -> None:
    result = run(trivy())
    assert result.status is GateStatus.FAILED
    assert result.error is not None
    assert "CVE-2019-18224 (CRITICAL, libidn2-0)" in result.error
    assert "CVE-2019-18276" not in result.error
    assert result.security_summary is not None
    assert result.security_summary.blocking_ids == ("CVE-2019-18224",)
    assert result.security_summary.by_severity["LOW"] == 1


@pytest.mark.requirement("FR-054", "US12")
def test_only_medium_findings_pass_with_a_warning_that_lists_them() -> None:
    result = run(as_medium_only(trivy()))
    assert result.status is GateStatus.WARNING
    assert result.error is None
    assert result.security_summary is not None
    assert {f.id for f in result.security_summary.warnings} == {
        "CVE-2019-18224", "CVE-2019-18276"}
    assert "CVE-2019-18224" in result.details["warning"]
    assert result.details["by_severity"] == {"MEDIUM": 2}


@pytest.mark.requirement("FR-054", "SC-010")
def test_medium_blocks_once_the_threshold_includes_it() -> None:
    result = run(as_medium_only(trivy()), block_on_severity=["critical", "high", "medium"])
    assert result.status is GateStatus.FAILED


@pytest.mark.requirement("FR-055", "US12")
def test_ignore_unfixed_decides_whether_the_unfixed_low_blocks() -> None:
    report = trivy()
    # keep only the LOW, unfixed bash finding
    report["Results"][0]["Vulnerabilities"] = [
        v for v in report["Results"][0]["Vulnerabilities"] if v["Severity"] == "LOW"]
    strict = run(report, block_on_severity=["CRITICAL", "LOW"], ignore_unfixed=False)
    lenient = run(report, block_on_severity=["CRITICAL", "LOW"], ignore_unfixed=True)
    assert strict.status is GateStatus.FAILED
    assert "CVE-2019-18276" in (strict.error or "")
    assert lenient.status is GateStatus.WARNING
    assert lenient.security_summary is not None
    assert lenient.security_summary.ignored_unfixed == 1


@pytest.mark.requirement("FR-055")
def test_ignore_unfixed_never_hides_a_fixed_critical() -> None:
    result = run(trivy(), block_on_severity=["CRITICAL", "LOW"], ignore_unfixed=True)
    assert result.status is GateStatus.FAILED
    assert result.security_summary is not None
    assert result.security_summary.blocking_ids == ("CVE-2019-18224",)


@pytest.mark.requirement("FR-057")
def test_real_grype_report_blocks_on_the_unfixed_critical() -> None:
    result = run(sample("grype-image.json"), scanner_format="grype")
    assert result.status is GateStatus.FAILED
    assert result.security_summary is not None
    assert result.security_summary.blocking_ids == ("CVE-1999-0002",)
    assert result.security_summary.by_severity["LOW"] == 1
    grype_lenient = run(sample("grype-image.json"), scanner_format="grype", ignore_unfixed=True)
    assert grype_lenient.status is GateStatus.WARNING


@pytest.mark.requirement("FR-057", "SC-007")
def test_a_trivy_report_with_no_results_passes_clean() -> None:
    report = trivy()
    del report["Results"]
    result = run(report)
    assert result.status is GateStatus.PASSED
    assert result.security_summary is not None
    assert result.security_summary.total == 0


@pytest.mark.requirement("FR-057", "SC-007")
def test_a_garbage_report_fails_closed_with_a_clear_error() -> None:
    result = evaluate_report("security_scan", b"Error: failed to pull image",
                             SecurityGateConfig())
    assert result.status is GateStatus.FAILED
    assert result.error is not None
    assert result.error.startswith("cannot read the trivy scanner report: not JSON")
    assert result.security_summary is None

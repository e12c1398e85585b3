"""Scanner reports: real Trivy and Grype output parsed into findings and a summary."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from floe_ledger.domain.model.scan import (
    Finding,
    ScanReportError,
    Severity,
    dedupe,
    load_report,
    parse_report,
    summarize,
)

_CANDIDATES = (
    Path(__file__).resolve().parents[1] / "data" / "scanners",
)


def sample(name: str) -> Any:
    """A real scanner golden file (see tests/data/scanners/README.md)."""
    for folder in _CANDIDATES:
        if (folder / name).exists():
            return json.loads((folder / name).read_text())
    raise FileNotFoundError(f"{name} not found in {[str(c) for c in _CANDIDATES]}")


@pytest.fixture
def trivy() -> Any:
    return sample("trivy-image-debian-buster.json")


@pytest.fixture
def grype() -> Any:
    return sample("grype-image.json")


@pytest.mark.requirement("FR-057")
def test_the_real_trivy_report_yields_its_two_findings(trivy: Any) -> None:
    findings = {f.id: f for f in parse_report(trivy, "trivy")}
    assert findings["CVE-2019-18224"] == Finding(
        id="CVE-2019-18224", severity=Severity.CRITICAL, package="libidn2-0",
        installed_version="2.0.5-1", fixed=True, fixed_version="2.0.5-1+deb10u1")
    assert findings["CVE-2019-18276"] == Finding(
        id="CVE-2019-18276", severity=Severity.LOW, package="bash",
        installed_version="5.0-4", fixed=False)


@pytest.mark.requirement("FR-057")
def test_the_real_grype_report_normalises_severity_and_fix_state(grype: Any) -> None:
    findings = {f.id: f for f in parse_report(grype, "grype")}
    assert findings["CVE-1999-0001"].severity is Severity.LOW
    assert findings["CVE-1999-0001"].fixed is True
    assert findings["CVE-1999-0001"].package == "package-1"
    assert findings["CVE-1999-0001"].installed_version == "1.1.1"
    assert findings["CVE-1999-0002"].severity is Severity.CRITICAL
    assert findings["CVE-1999-0002"].fixed is False


@pytest.mark.requirement("FR-057")
def test_grype_negligible_is_counted_apart_and_never_blocks(grype: Any) -> None:
    grype["matches"][1]["vulnerability"]["severity"] = "Negligible"
    summary = summarize(parse_report(grype, "grype"), ["CRITICAL", "HIGH", "MEDIUM", "LOW",
                                                       "UNKNOWN"], ignore_unfixed=False)
    assert summary.by_severity["NEGLIGIBLE"] == 1
    assert [f.id for f in summary.blocking] == ["CVE-1999-0001"]


@pytest.mark.requirement("FR-057")
def test_a_trivy_report_without_results_is_a_clean_scan(trivy: Any) -> None:
    del trivy["Results"]
    assert parse_report(trivy, "trivy") == []


@pytest.mark.requirement("FR-057")
def test_trivy_null_results_and_null_vulnerabilities_are_clean(trivy: Any) -> None:
    trivy["Results"][0]["Vulnerabilities"] = None
    assert parse_report(trivy, "trivy") == []
    trivy["Results"] = None
    assert parse_report(trivy, "trivy") == []


@pytest.mark.requirement("FR-057")
@pytest.mark.parametrize(
    ("raw", "fmt", "words"),
    [
        (b"", "trivy", "empty"),
        (b"<html>502 Bad Gateway</html>", "trivy", "not JSON"),
        (b"\xff\xfe garbage", "grype", "not JSON"),
        (b"[1, 2]", "trivy", "Results[0] should be an object"),
        (b'"just a string"', "grype", "should be an object"),
        (b'{"hello": "world"}', "trivy", "none of SchemaVersion"),
        (b'{"hello": "world"}', "grype", "no 'matches'"),
        (b'{"SchemaVersion": 2, "Results": {"a": 1}}', "trivy", "Results should be an array"),
        (b'{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [{"Severity": "LOW"}]}]}',
         "trivy", "no VulnerabilityID"),
        (b'{"matches": [{"vulnerability": "CVE-1"}]}', "grype", "should be an object"),
    ],
)
def test_garbage_reports_raise_a_clear_gate_error(raw: bytes, fmt: Any, words: str) -> None:
    with pytest.raises(ScanReportError) as caught:
        load_report(raw, fmt)
    assert words in caught.value.message
    assert caught.value.message.startswith(f"cannot read the {fmt} scanner report")


@pytest.mark.requirement("FR-057")
def test_the_wrong_scanner_format_fails_instead_of_looking_clean(trivy: Any, grype: Any) -> None:
    with pytest.raises(ScanReportError, match="looks like Grype") as caught:
        parse_report(grype, "trivy")
    assert "scanner_format: grype" in caught.value.hint
    with pytest.raises(ScanReportError) as caught:
        parse_report(trivy, "grype")
    assert "scanner_format: trivy" in caught.value.hint


@pytest.mark.requirement("FR-056")
def test_the_same_cve_in_the_same_package_counts_once_and_fixed_anywhere_wins(
        trivy: Any) -> None:
    libidn = next(v for v in trivy["Results"][0]["Vulnerabilities"]
                  if v["VulnerabilityID"] == "CVE-2019-18224")
    unfixed_copy = copy.deepcopy(libidn)
    del unfixed_copy["FixedVersion"]
    trivy["Results"].append({"Target": "other", "Vulnerabilities": [unfixed_copy]})
    trivy["Results"].insert(0, {"Target": "first", "Vulnerabilities": [unfixed_copy]})
    findings = [f for f in parse_report(trivy, "trivy") if f.id == "CVE-2019-18224"]
    assert len(findings) == 1
    assert findings[0].fixed is True
    assert findings[0].fixed_version == "2.0.5-1+deb10u1"


@pytest.mark.requirement("FR-056")
def test_the_same_cve_in_two_packages_counts_twice() -> None:
    merged = dedupe([
        Finding(id="CVE-1", severity=Severity.HIGH, package="a"),
        Finding(id="CVE-1", severity=Severity.HIGH, package="b"),
        Finding(id="CVE-1", severity=Severity.CRITICAL, package="a"),
    ])
    assert [(f.package, f.severity) for f in merged] == [
        ("a", Severity.CRITICAL), ("b", Severity.HIGH)]


@pytest.mark.requirement("FR-054", "FR-056")
def test_summary_of_the_real_trivy_report_blocks_on_the_fixed_critical(trivy: Any) -> None:
    summary = summarize(parse_report(trivy, "trivy"), ["CRITICAL", "HIGH"],
                        ignore_unfixed=False)
    assert summary.total == 2
    assert summary.by_severity == {
        "CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 1, "NEGLIGIBLE": 0, "UNKNOWN": 0}
    assert summary.blocking_ids == ("CVE-2019-18224",)
    assert [f.id for f in summary.warnings] == ["CVE-2019-18276"]
    assert summary.ignored_unfixed == 0


@pytest.mark.requirement("FR-055")
def test_ignore_unfixed_takes_unfixed_findings_out_of_blocking(trivy: Any) -> None:
    findings = parse_report(trivy, "trivy")
    strict = summarize(findings, ["CRITICAL", "LOW"], ignore_unfixed=False)
    lenient = summarize(findings, ["CRITICAL", "LOW"], ignore_unfixed=True)
    assert set(strict.blocking_ids) == {"CVE-2019-18224", "CVE-2019-18276"}
    assert lenient.blocking_ids == ("CVE-2019-18224",)
    assert lenient.ignored_unfixed == 1


def test_severity_parsing_is_case_insensitive_and_defaults_to_unknown() -> None:
    assert Severity.parse("Critical") is Severity.CRITICAL
    assert Severity.parse(" negligible ") is Severity.NEGLIGIBLE
    assert Severity.parse("") is Severity.UNKNOWN
    assert Severity.parse(None) is Severity.UNKNOWN
    assert Severity.parse("SEVERE") is Severity.UNKNOWN

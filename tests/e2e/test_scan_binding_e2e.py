"""Security review §17: a scanner report must be a scan of the artifact being promoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "scanners"
OTHER = "sha256:" + "ab" * 32


def _setup(workspace, report: dict, fmt: str = "trivy"):
    (workspace.root / "scan.json").write_text(json.dumps(report))
    workspace.write_manifest(promotion={"environments": [
        {"name": "dev"},
        {"name": "staging", "gates": {"security_scan": {"report": "scan.json",
                                                        "scanner_format": fmt}}}]})
    digest = workspace.push("v1.0.0")
    assert workspace.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    return digest


def _clean_grype(target_digest: str) -> dict:
    doc = json.loads((DATA / "grype-image.json").read_text())
    doc["matches"] = []
    doc["source"]["target"]["manifestDigest"] = target_digest
    return doc


@pytest.mark.requirement("FR-057", "SCAN-09", "EXIT-8")
def test_a_clean_report_of_another_image_fails_the_gate(workspace) -> None:
    _setup(workspace, {"SchemaVersion": 2, "ArtifactName": "registry/app@" + OTHER,
                       "Metadata": {"RepoDigests": ["registry/app@" + OTHER]}})
    code, out = workspace.json("platform", "promote", "v1.0.0", "--from", "dev",
                               "--to", "staging")
    assert code == 8, out
    scan = next(g for g in out["gate_results"] if g["gate"] == "security_scan")
    assert scan["status"] == "failed" and OTHER in scan["error"]
    assert "not for the artifact being promoted" in scan["error"]


@pytest.mark.requirement("FR-057", "SCAN-02")
def test_a_grype_report_binds_by_manifest_digest(workspace) -> None:
    digest = _setup(workspace, _clean_grype(OTHER), fmt="grype")
    code, out = workspace.json("platform", "promote", "v1.0.0", "--from", "dev",
                               "--to", "staging")
    assert code == 8 and OTHER in json.dumps(out["gate_results"])
    (workspace.root / "scan.json").write_text(json.dumps(_clean_grype(digest)))
    code, out = workspace.json("platform", "promote", "v1.0.0", "--from", "dev",
                               "--to", "staging")
    assert code == 0, out
    scan = next(g for g in out["gate_results"] if g["gate"] == "security_scan")
    assert scan["details"]["scanned"] == digest


@pytest.mark.requirement("FR-057", "SCAN-01")
def test_a_report_naming_no_digest_passes_with_a_warning(workspace) -> None:
    _setup(workspace, {"SchemaVersion": 2, "ArtifactName": "demo"})
    code, out = workspace.json("platform", "promote", "v1.0.0", "--from", "dev",
                               "--to", "staging")
    assert code == 0, out
    scan = next(g for g in out["gate_results"] if g["gate"] == "security_scan")
    assert "names no manifest digest" in scan["details"]["report_warning"]

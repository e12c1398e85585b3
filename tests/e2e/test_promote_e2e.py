"""Promote and status end to end (US1, US4): `floe platform promote` and `status` against a
real registry."""

from __future__ import annotations

import json
import re
import time

import pytest
import yaml

from support.registry_server import start_registry
from support.workspace import make_workspace, raw_manifest


@pytest.mark.requirement("FR-001", "FR-002", "FR-003", "US1", "US4", "FR-031", "FR-033")
def test_promote_dev_to_staging_copies_the_exact_bytes_and_status_shows_it(workspace) -> None:
    digest = workspace.push("v1.2.3")
    code, first = workspace.json("platform", "promote", "v1.2.3", "--to", "dev")
    assert code == 0, first
    code, out = workspace.json("platform", "promote", "v1.2.3", "--from", "dev", "--to", "staging")
    assert code == 0, out
    assert out["success"] is True and out["error"] is None
    assert out["artifact_digest"] == digest
    assert out["artifact_tag"] == "v1.2.3-dev"
    assert out["source_environment"] == "dev" and out["target_environment"] == "staging"
    assert re.fullmatch(r"[0-9a-f]{32}", out["trace_id"])
    assert out["promotion_id"] and out["gate_results"] is not None
    source, _, source_digest = raw_manifest(workspace.registry_uri, "v1.2.3-dev")
    for tag in ("v1.2.3-staging", "latest-staging"):
        data, _, header_digest = raw_manifest(workspace.registry_uri, tag)
        assert data == source and header_digest == source_digest == digest
    # A new process reads the ledger's projection.
    code, status = workspace.json("platform", "status")
    assert code == 0
    by_env = {row["environment"]: row for row in status["environments"]}
    assert by_env["staging"]["version"] == "v1.2.3"
    assert by_env["staging"]["digest"] == digest
    assert by_env["staging"]["promoted_by"] == "ci-runner"
    assert by_env["prod"]["version"] is None and by_env["prod"]["locked"] is False
    assert workspace.event_kinds().count("PromotionCompleted") == 2


@pytest.mark.requirement("FR-001", "EDGE-08", "CLI-23", "FR-032")
def test_skipping_staging_exits_9_and_names_the_required_path(workspace) -> None:
    workspace.push("v1.0.0")
    assert workspace.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    code, out = workspace.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "prod")
    assert code == 9
    assert out["success"] is False
    assert out["error"]["code"] == "invalid_transition"
    assert "staging" in out["error"]["message"]
    assert "dev -> staging -> prod" in out["error"]["hint"]
    assert workspace.event_kinds()[-1] == "PromotionRejected"


@pytest.mark.requirement("TAG-06", "TXN-05", "EDGE-02", "FR-032")
def test_promoting_again_exits_10_and_force_with_the_same_digest_exits_0(workspace) -> None:
    workspace.push("v1.0.0")
    assert workspace.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    again = workspace.run("platform", "promote", "v1.0.0", "--to", "dev")
    assert again.returncode == 10
    assert "already" in again.stderr and "--force" in again.stderr
    before = workspace.event_kinds()
    code, out = workspace.json("platform", "promote", "v1.0.0", "--to", "dev", "--force")
    assert code == 0 and out["nothing_written"] is True
    assert workspace.event_kinds() == before


@pytest.mark.requirement("EDGE-01")
def test_an_unknown_version_exits_3_and_lists_the_versions_that_exist(workspace) -> None:
    workspace.push("v1.0.0")
    workspace.push("v1.1.0")
    code, out = workspace.json("platform", "promote", "v9.9.9", "--to", "dev")
    assert code == 3
    assert out["error"]["details"]["available_versions"] == ["v1.0.0", "v1.1.0"]
    assert "v1.0.0, v1.1.0" in out["error"]["hint"]


@pytest.mark.requirement("EDGE-03", "TXN-02")
def test_a_stopped_registry_exits_5_quickly_and_leaves_the_ledger_unchanged(tmp_path) -> None:
    server = start_registry()
    try:
        ws = make_workspace(tmp_path, server)
        ws.push("v1.0.0")
        assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
        before = ws.event_kinds()
        server.stop()
        started = time.monotonic()
        proc = ws.run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
        elapsed = time.monotonic() - started
        assert proc.returncode == 5, proc.stderr
        assert elapsed < 10
        assert "registry" in proc.stderr.lower()
        assert ws.event_kinds() == before
    finally:
        server.cleanup()


@pytest.mark.requirement("CFG-32")
def test_a_malformed_manifest_exits_2_naming_the_file_and_the_key(workspace) -> None:
    manifest = workspace.root / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"artifacts": {
        "registry": {"uri": workspace.registry_uri, "plain_http": True},
        "promotion": {"environments": [{"name": "dev", "gate_timeout_seconds": 5}]},
    }}))
    code, out = workspace.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 2
    assert "manifest.yaml" in out["error"]["message"]
    assert "artifacts.promotion.environments.0.gate_timeout_seconds" in out["error"]["message"]
    manifest.write_text("artifacts:\n  registry: [unclosed\n")
    proc = workspace.run("platform", "status")
    assert proc.returncode == 2
    assert "manifest.yaml" in proc.stderr and "line" in proc.stderr


@pytest.mark.requirement("FR-031", "JSON-05")
def test_json_mode_keeps_stdout_clean_even_on_errors(workspace) -> None:
    proc = workspace.run("platform", "promote", "v0.0.1", "--to", "dev", "-o", "json")
    assert proc.returncode == 3

    doc = json.loads(proc.stdout)
    assert doc["success"] is False and doc["error"]["code"] == "not_found"

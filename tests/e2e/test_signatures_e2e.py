"""Signatures end to end (US5, FR-004, FR-005): no artifact is promoted unless a valid
signature binds its digest."""

from __future__ import annotations

import json

import oras.client
import pytest

from support.workspace import copy_tag, list_tags, raw_manifest


def signed_workspace(workspace, enforcement: str = "enforce"):
    assert workspace.run("artifact", "keygen", "keys/trusted").returncode == 0
    assert workspace.run("artifact", "keygen", "keys/other").returncode == 0
    workspace.write_manifest(registry={
        "uri": workspace.registry_uri, "plain_http": True,
        "verification": {"enforcement": enforcement, "public_keys": ["keys/trusted.pub"]},
    })
    return workspace


def tags(workspace) -> set[str]:
    return list_tags(workspace.registry_uri)


@pytest.mark.requirement("FR-004", "FR-018", "FR-020", "US1", "US5")
def test_a_signed_artifact_promotes_and_the_verdict_is_recorded(workspace) -> None:
    ws = signed_workspace(workspace)
    ws.push("v1.0.0")
    assert ws.run("artifact", "sign", "v1.0.0", "--key", "keys/trusted.key").returncode == 0
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 0, out
    assert out["signature"]["status"] == "verified"
    assert out["signature"]["key_fingerprint"]
    verdicts = ws.events("SignatureVerified")
    assert verdicts and verdicts[-1]["verdict"]["status"] == "verified"
    proc = ws.run("artifact", "verify", "v1.0.0")
    assert proc.returncode == 0 and "Signature verified" in proc.stdout


@pytest.mark.requirement("FR-005", "US1", "US5", "EXIT-6")
@pytest.mark.parametrize("case", ["unsigned", "other-key", "copied-signature"])
def test_enforce_refuses_with_exit_6_and_tags_nothing(workspace, case: str) -> None:
    ws = signed_workspace(workspace)
    ws.push("v1.0.0")
    if case == "other-key":
        assert ws.run("artifact", "sign", "v1.0.0", "--key", "keys/other.key").returncode == 0
    if case == "copied-signature":
        ws.push("v0.9.0", content="another artifact")
        assert ws.run("artifact", "sign", "v0.9.0", "--key", "keys/trusted.key").returncode == 0

        donor = ws.json("artifact", "verify", "v0.9.0")[1]["digest"]
        target = ws.run("artifact", "verify", "v1.0.0", "-o", "json")

        target_digest = json.loads(target.stdout)["error"]["details"]["verdict"]["digest"]
        copy_tag(ws.registry_uri, donor.replace(":", "-") + ".sig",
                 target_digest.replace(":", "-") + ".sig")
    before = tags(ws)
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 6, out
    assert out["error"]["code"] == "signature_verification_failed"
    assert "signature verification failed" in out["error"]["message"]
    if case == "unsigned":
        assert "unsigned and enforcement enabled" in out["error"]["message"]
    assert tags(ws) == before
    assert "SignatureRejected" in ws.event_kinds()
    assert ws.event_kinds()[-1] == "PromotionRejected"


@pytest.mark.requirement("FR-021", "US5")
def test_warn_mode_promotes_an_unsigned_artifact_with_a_visible_warning(workspace) -> None:
    ws = signed_workspace(workspace, enforcement="warn")
    ws.push("v1.0.0")
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 0, out
    assert any("signature" in w for w in out["warnings"])
    assert out["signature"]["decision"] == "warn"
    assert ws.events("SignatureVerified")[-1]["verdict"]["decision"] == "warn"
    human = ws.run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert human.returncode == 0 and "warning" in human.stderr


@pytest.mark.requirement("US5", "FR-004")
def test_pull_verifies_before_writing_any_file(workspace) -> None:
    ws = signed_workspace(workspace)
    ws.push("v1.0.0", content="payload")
    refused = ws.run("artifact", "pull", "v1.0.0", "-d", "out")
    assert refused.returncode == 6
    assert not (ws.root / "out").exists() or not any((ws.root / "out").iterdir())
    assert ws.run("artifact", "sign", "v1.0.0", "--key", "keys/trusted.key").returncode == 0
    ok = ws.run("artifact", "pull", "v1.0.0", "-d", "out")
    assert ok.returncode == 0, ok.stderr
    assert (ws.root / "out" / "bundle.yaml").read_text() == "payload"


@pytest.mark.requirement("FR-001", "FR-002")
def test_an_artifact_published_with_oras_promotes_byte_for_byte(workspace) -> None:
    artifact = workspace.root / "chart.tgz"
    artifact.write_bytes(b"helm chart bytes")
    host_repo = workspace.registry_uri.removeprefix("oci://")
    client = oras.client.OrasClient(insecure=True)
    client.push(target=f"{host_repo}:v3.1.0", files=[str(artifact)], disable_path_validation=True)
    code, out = workspace.json("platform", "promote", "v3.1.0", "--to", "dev")
    assert code == 0, out

    assert raw_manifest(workspace.registry_uri, "v3.1.0") == raw_manifest(
        workspace.registry_uri, "v3.1.0-dev")

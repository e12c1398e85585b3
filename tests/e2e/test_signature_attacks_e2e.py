"""Attacks on signature verification, end to end against a real registry (security review
§4, §7, §14, §18): each test plays the attack through the real CLI and shows that under
``enforce`` nothing unsigned or wrongly signed is promoted (FR-004, FR-005, FR-022)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from floe_ledger.adapters.registry.factory import RegistrySettings, open_registry
from support.sigstore_data import DSSE_BUNDLE, DSSE_FILE, GITHUB, WHEEL, WHEEL_BUNDLE
from support.workspace import list_tags, make_workspace


def key_workspace(ws, **verification):
    assert ws.run("artifact", "keygen", "keys/trusted").returncode == 0
    ws.write_manifest(registry={
        "uri": ws.registry_uri, "plain_http": True,
        "verification": {"enforcement": "enforce", "public_keys": ["keys/trusted.pub"],
                         **verification},
    })
    return ws


def keyless_workspace(ws, regex: str):
    ws.write_manifest(registry={
        "uri": ws.registry_uri, "plain_http": True,
        "verification": {"enforcement": "enforce",
                         "trusted_issuers": [{"issuer": GITHUB, "subject_regex": regex}]},
    })
    return ws


def cache_db(ws) -> Path:
    """The database the CLI keeps its verdict cache in (the ledger file, or the checkout's
    .floe/signature-cache.sqlite when the ledger is PostgreSQL)."""
    return ws.root / ".floe" / ("signature-cache.sqlite" if ws.postgres else "ledger.sqlite")


def assert_refused(ws, version: str, before: set[str], *expected: str) -> dict:
    code, out = ws.json("platform", "promote", version, "--to", "dev")
    assert code == 6, out
    assert out["error"]["code"] == "signature_verification_failed"
    for text in expected:
        assert text in out["error"]["message"], out["error"]["message"]
    assert list_tags(ws.registry_uri) == before, "nothing may be tagged"
    assert ws.event_kinds()[-1] == "PromotionRejected"
    return dict(out)


@pytest.mark.requirement("FR-005", "FR-022", "US5", "EXIT-6")
def test_forged_cache_rows_do_not_let_an_unsigned_artifact_through(workspace) -> None:
    """§4: rows inserted into the real cache database (a genuine row's MAC replayed onto
    the unsigned digest, a MAC made with a guessed key, no MAC at all) are ignored with a
    warning; the unsigned artifact is still refused with exit 6 and nothing is tagged."""
    ws = key_workspace(workspace)
    ws.push("v1.0.0")
    assert ws.run("artifact", "sign", "v1.0.0", "--key", "keys/trusted.key").returncode == 0
    assert ws.json("platform", "promote", "v1.0.0", "--to", "dev")[0] == 0
    unsigned = ws.push("v2.0.0")
    with sqlite3.connect(cache_db(ws)) as conn:
        fingerprint, verdict, mac = conn.execute(
            "SELECT policy_fingerprint, verdict, mac FROM floe_signature_cache").fetchone()
    forged = json.dumps({**json.loads(verdict), "digest": unsigned})
    guessed = hashlib.sha256(b"guess" + forged.encode()).hexdigest()
    key_file = ws.root / ".local" / "state" / "floe" / "verdict-cache.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not str(key_file).startswith(str(cache_db(ws).parent))
    before = list_tags(ws.registry_uri)
    for forged_mac in (mac, guessed, None):
        with sqlite3.connect(cache_db(ws)) as conn:
            conn.execute("INSERT OR REPLACE INTO floe_signature_cache VALUES (?, ?, ?, ?, ?)",
                         (unsigned, fingerprint, forged, "2026-01-01", forged_mac))
        proc = ws.run("platform", "promote", "v2.0.0", "--to", "dev")
        assert proc.returncode == 6, proc.stdout + proc.stderr
        assert "signature_cache.row_rejected" in proc.stderr
        assert list_tags(ws.registry_uri) == before
        assert ws.event_kinds()[-1] == "PromotionRejected"
        verify = ws.run("artifact", "verify", "v2.0.0")
        assert verify.returncode == 6 and "verified" not in verify.stdout.lower()
        pull = ws.run("artifact", "pull", "v2.0.0", "-d", "out")
        assert pull.returncode == 6 and not (ws.root / "out").exists()
    # the genuine row still saves the registry round trips (FR-022)
    cached = ws.run("artifact", "verify", "v1.0.0")
    assert cached.returncode == 0 and "cached" in cached.stdout, cached.stdout


@pytest.mark.requirement("FR-004", "FR-005", "FR-019", "US5", "EXIT-6")
def test_keyless_bundle_over_the_layer_blob_is_refused(workspace) -> None:
    """§7: a real production Sigstore bundle over a PyPI wheel, attached to the wheel pushed
    as a 'deploy script' with approving annotations, signs the blob, not the manifest:
    promote exits 6 naming what was signed and what was expected, and pull writes nothing."""
    ws = keyless_workspace(workspace, r"https://github\.com/trailofbits/rfc8785\.py/.*")
    script = ws.root / "install.sh"
    shutil.copyfile(WHEEL, script)
    code, out = ws.json("artifact", "push", str(script), "v6.6.6",
                        "--artifact-type", "application/vnd.acme.deploy-script",
                        "--annotation", "change.approved=true")
    assert code == 0, out
    digest = out["digest"]
    assert ws.run("artifact", "attach-bundle", "v6.6.6", str(WHEEL_BUNDLE)).returncode == 0
    layer = "sha256:" + hashlib.sha256(WHEEL.read_bytes()).hexdigest()
    assert_refused(ws, "v6.6.6", list_tags(ws.registry_uri),
                   f"message signature over layer blob {layer} (install.sh) of the artifact",
                   f"not over manifest {digest}",
                   f"DSSE in-toto statement whose subject is {digest}")
    pull = ws.run("artifact", "pull", "v6.6.6", "-d", "out")
    assert pull.returncode == 6 and not (ws.root / "out").exists()
    # the same signature presented as the payload verifies (real certificate, identity and
    # Rekor proof, offline) but names no manifest: still refused
    digest_only = ws.push("v6.6.7", content="another")
    assert ws.run("artifact", "attach-bundle", "v6.6.7", str(WHEEL_BUNDLE),
                  "--payload", str(WHEEL)).returncode == 0
    assert_refused(ws, "v6.6.7", list_tags(ws.registry_uri),
                   "payload is not a cosign simple-signing document",
                   f"does not vouch for {digest_only}")


def _copy_tags(source_uri: str, dest_uri: str, tags: list[str], root: Path) -> None:
    """What anyone who can push to the registry can do: copy an artifact and the .sig made
    for it in one repository to another repository (same digest)."""
    env = {"DOCKER_CONFIG": str(root / ".docker")}
    src = open_registry(RegistrySettings(uri=source_uri, plain_http=True), base_dir=root, env=env)
    dst = open_registry(RegistrySettings(uri=dest_uri, plain_http=True), base_dir=root, env=env)
    try:
        for tag in tags:
            manifest = src.get_manifest(tag)
            body = json.loads(manifest.data)
            for blob in [body["config"], *body["layers"]]:
                dst.put_blob(src.get_blob(blob["digest"]), blob["mediaType"])
            dst.put_manifest(tag, manifest)
    finally:
        src.close()
        dst.close()


@pytest.mark.requirement("FR-004", "FR-005", "FR-020", "US5", "EXIT-6")
def test_signature_made_for_another_repository_is_refused(workspace, registry_server,
                                                          repo_name: str) -> None:
    """§14: the trusted key's signature for repository A, copied beside the same digest in
    repository B, is refused in B (exit 6); check_docker_reference: false accepts it."""
    (workspace.root / "a").mkdir()
    other = key_workspace(make_workspace(workspace.root / "a", registry_server,
                                         repo_name + "-a"))
    digest = other.push("v9.9.9", content="same bytes")
    assert other.run("artifact", "sign", "v9.9.9", "--key", "keys/trusted.key").returncode == 0
    ws = workspace
    ws.write_manifest(registry={
        "uri": ws.registry_uri, "plain_http": True,
        "verification": {"enforcement": "enforce",
                         "public_keys": [str(other.root / "keys" / "trusted.pub")]},
    })
    _copy_tags(other.registry_uri, ws.registry_uri,
               ["v9.9.9", digest.replace(":", "-") + ".sig"], ws.root)
    host_repo_a = other.registry_uri.removeprefix("oci://")
    assert_refused(ws, "v9.9.9", list_tags(ws.registry_uri),
                   f"signed for repository '{host_repo_a}'")
    ws.write_manifest(registry={
        "uri": ws.registry_uri, "plain_http": True,
        "verification": {"enforcement": "enforce", "check_docker_reference": False,
                         "public_keys": [str(other.root / "keys" / "trusted.pub")]},
    })
    code, out = ws.json("platform", "promote", "v9.9.9", "--to", "dev")
    assert code == 0, out


@pytest.mark.requirement("FR-019", "US5")
@pytest.mark.parametrize("root", ["staging", "file"])
def test_replaced_trust_root_is_announced_and_recorded(sqlite_workspace, root: str) -> None:
    """§18: FLOE_SIGSTORE_TRUST_ROOT swaps the keyless root of trust; floe says so on stderr
    (naming the root and its sha256) and records the root in the verdict it stores."""
    ws = keyless_workspace(sqlite_workspace, r"https://github\.com/sigstore-conformance/.*")
    ws.push("v1.0.0", content=DSSE_FILE.read_text())
    assert ws.run("artifact", "attach-bundle", "v1.0.0", str(DSSE_BUNDLE)).returncode == 0
    value = "staging"
    if root == "file":
        custom = ws.root / "custom-root.json"
        shutil.copyfile(Path(__file__).resolve().parents[2] / "adapters" / "signing"
                        / "trusted_root.staging.json", custom)
        value = str(custom)
    env = {"FLOE_SIGSTORE_TRUST_ROOT": value}
    proc = ws.run("platform", "promote", "v1.0.0", "--to", "dev", env=env)
    assert proc.returncode == 6  # valid staging signature, but its subject is not the manifest
    assert "signing.trust_root_replaced" in proc.stderr and "FLOE_SIGSTORE_TRUST_ROOT" in (
        proc.stderr)
    assert value in proc.stderr
    if root == "file":
        assert hashlib.sha256(Path(value).read_bytes()).hexdigest() in proc.stderr
    assert "in-toto statement names sha256:a0cfc712" in proc.stdout + proc.stderr
    recorded = ws.events("SignatureRejected")[-1]
    assert value in json.dumps(recorded)
    # without the variable nothing is announced
    quiet = ws.run("platform", "promote", "v1.0.0", "--to", "dev")
    assert "trust_root_replaced" not in quiet.stderr

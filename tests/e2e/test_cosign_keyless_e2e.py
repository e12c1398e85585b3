"""A real cosign keyless signature in the `.sig` layout, end to end (issue 14 item 10;
FR-018, FR-019, FR-004, FR-005): the exact image index cosign 2.2.3 signed in GitHub
Actions and its `.sig` manifest are pushed to the real registry, and `floe platform
promote` verifies them offline against floe's pinned production trust root."""

from __future__ import annotations

from typing import Any

import pytest

from support import cosign_keyless_sample as sample
from support.registry_server import RegistryServer
from support.workspace import Workspace, list_tags, raw_manifest

# no route to the internet: a Sigstore or TUF fetch would fail (the registry is local)
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost"}


def keyless_repo(ws: Workspace, server: RegistryServer, regex: str, *,
                 sig: dict[str, Any] | None = None, payload: bytes = sample.PAYLOAD) -> None:
    """The sample in this workspace's repository, and a policy trusting ``regex``."""
    sample.lay_out(server, ws.registry_uri.split("/", 3)[3], sig=sig, payload=payload)
    ws.write_manifest(registry={
        "uri": ws.registry_uri, "plain_http": True,
        "verification": {
            "enforcement": "enforce",
            "trusted_issuers": [{"issuer": sample.ISSUER, "subject_regex": regex}],
            # the payload names index.docker.io/salrashid123/server_image, where it was signed
            "check_docker_reference": False,
        },
    })


def assert_refused(ws: Workspace, *expected: str) -> str:
    before = list_tags(ws.registry_uri)
    code, out = ws.json("platform", "promote", sample.VERSION, "--to", "dev", env=OFFLINE)
    assert code == 6, out
    assert out["error"]["code"] == "signature_verification_failed"
    message = str(out["error"]["message"])
    for text in expected:
        assert text in message, message
    assert list_tags(ws.registry_uri) == before, "nothing may be tagged"
    assert ws.event_kinds()[-1] == "PromotionRejected"
    return message


@pytest.mark.requirement("FR-018", "FR-019", "FR-004", "US5")
def test_the_real_keyless_signature_promotes_offline_naming_issuer_and_subject(
        workspace: Workspace, registry_server: RegistryServer) -> None:
    ws = workspace
    keyless_repo(ws, registry_server, sample.SUBJECT_REGEX)
    dry = ws.run("platform", "promote", sample.VERSION, "--to", "dev", "--dry-run", env=OFFLINE)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"verified keyless {sample.SUBJECT} (issuer {sample.ISSUER})" in dry.stdout

    code, out = ws.json("platform", "promote", sample.VERSION, "--to", "dev", env=OFFLINE)
    assert code == 0, out
    verdict = out["signature"]
    assert (verdict["status"], verdict["mode"]) == ("verified", "keyless")
    assert (verdict["issuer"], verdict["subject"]) == (sample.ISSUER, sample.SUBJECT)
    assert verdict["signature_ref"].endswith("#layers/0")
    assert out["artifact_digest"] == sample.DIGEST
    # the promoted tag is the signed index itself, byte for byte
    data, _, digest = raw_manifest(ws.registry_uri, f"{sample.VERSION}-dev")
    assert (data, digest) == (sample.INDEX, sample.DIGEST)
    recorded = ws.events("SignatureVerified")[-1]["verdict"]
    assert (recorded["issuer"], recorded["subject"]) == (sample.ISSUER, sample.SUBJECT)

    verify = ws.run("artifact", "verify", f"{sample.VERSION}-dev", env=OFFLINE)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # the same words as promote's line: subject and issuer, never the throwaway key
    assert f"Signature verified: keyless {sample.SUBJECT} (issuer {sample.ISSUER})" in verify.stdout
    assert verify.stdout.count("verified") == 1
    throwaway = recorded["key_fingerprint"]
    assert throwaway and throwaway[:12] not in dry.stdout + verify.stdout


@pytest.mark.requirement("FR-005", "FR-019", "US5", "EXIT-6")
def test_the_keyless_signature_is_refused_for_another_subject(
        workspace: Workspace, registry_server: RegistryServer) -> None:
    keyless_repo(workspace, registry_server, sample.OTHER_REGEX)
    assert_refused(workspace, sample.SUBJECT, f"from issuer '{sample.ISSUER}'",
                   "matches no trusted_issuers entry")


@pytest.mark.requirement("FR-005", "FR-019", "US5", "EXIT-6")
@pytest.mark.parametrize("case", ["set", "integrated-time", "certificate", "payload"])
def test_a_tampered_keyless_signature_is_refused(
        sqlite_workspace: Workspace, registry_server: RegistryServer, case: str) -> None:
    doc, payload, expected = sample.tampered(case)
    keyless_repo(sqlite_workspace, registry_server, sample.SUBJECT_REGEX, sig=doc,
                 payload=payload)
    assert_refused(sqlite_workspace, expected, f"{sample.SIG_TAG} layer 0")

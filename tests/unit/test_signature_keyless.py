"""Keyless verification of real Sigstore bundles stored as referrers, fully offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from floe_ledger.adapters.signing.keyless import (
    BUNDLE_TYPE,
    KeylessVerifier,
    _check_statement,
    _Rejected,
    attach_bundle,
)
from floe_ledger.adapters.signing.verifier import SignatureVerifier, trust_root_path
from floe_ledger.domain.model.errors import ConfigError, NotFoundError, UsageError
from floe_ledger.domain.model.signature import TrustedIssuer, VerificationPolicy
from support.memory_registry import MemoryRegistry, sha256_digest
from support.sigstore_data import DSSE_BUNDLE, DSSE_FILE, GITHUB, WHEEL, WHEEL_BUNDLE

RELEASE_SAN = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
RELEASE_REGEX = r"https://github\.com/trailofbits/rfc8785\.py/\.github/workflows/release\.yml@refs/tags/v.*"
BEACON_REGEX = r"https://github\.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.*"


def _verifier(issuer: str = GITHUB, regex: str = RELEASE_REGEX,
              root: str = "production") -> KeylessVerifier:
    return KeylessVerifier([TrustedIssuer(issuer=issuer, subject_regex=regex)],
                           trust_root_path(root))


def _signed_wheel(registry: MemoryRegistry, wheel: bytes | None = None, *,
                  as_payload: bool = False) -> str:
    """The wheel pushed as a one-layer artifact with its real bundle attached. With
    ``as_payload`` the wheel is also attached as the bundle's payload, so sigstore checks
    the signature and identity before floe's own check (the payload names no manifest)."""
    data = wheel if wheel is not None else WHEEL.read_bytes()
    artifact = registry.push_artifact([data], tag="0.1.2-dev",
                                      layer_media_type="application/vnd.python.wheel")
    attach_bundle(registry, artifact.digest, WHEEL_BUNDLE.read_bytes(),
                  data if as_payload else None)
    return artifact.digest


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


@pytest.mark.requirement("FR-004", "FR-018", "FR-019", "US5")
def test_real_bundle_over_the_layer_blob_alone_is_refused(registry: MemoryRegistry) -> None:
    """Review §7: a message signature over the artifact's layer blob leaves the manifest's
    artifactType, annotations and file title unsigned, so it vouches for nothing."""
    digest = _signed_wheel(registry)
    layer = sha256_digest(WHEEL.read_bytes())
    verdict = _verifier().verify(registry, digest)
    assert verdict.status == "failed"
    (reason,) = verdict.reasons
    assert f"message signature over layer blob {layer}" in reason
    assert f"not over manifest {digest}" in reason
    assert f"DSSE in-toto statement whose subject is {digest}" in reason
    assert f"critical.image.docker-manifest-digest is {digest}" in reason


@pytest.mark.requirement("FR-004", "FR-018", "FR-019")
def test_real_bundle_over_a_foreign_blob_is_refused(registry: MemoryRegistry) -> None:
    artifact = registry.push_artifact([b"some other file"])
    attach_bundle(registry, artifact.digest, WHEEL_BUNDLE.read_bytes())
    verdict = _verifier().verify(registry, artifact.digest)
    assert verdict.status == "failed"
    assert f"message signature over blob {sha256_digest(WHEEL.read_bytes())}" in (
        verdict.reasons[0])


@pytest.mark.requirement("FR-004", "FR-018", "FR-019")
def test_validly_signed_payload_must_name_the_manifest(registry: MemoryRegistry) -> None:
    """The real production signature and identity verify offline over the attached payload;
    only floe's check that the payload names the manifest digest refuses it."""
    digest = _signed_wheel(registry, as_payload=True)
    verdict = _verifier().verify(registry, digest)
    assert verdict.status == "failed"
    assert "payload is not a cosign simple-signing document" in verdict.reasons[0]
    assert f"does not vouch for {digest}" in verdict.reasons[0]


@pytest.mark.requirement("FR-019")
def test_attach_bundle_stores_a_referrer_byte_exact(registry: MemoryRegistry) -> None:
    digest = _signed_wheel(registry)
    (referrer,) = registry.referrers(digest, BUNDLE_TYPE)
    manifest = json.loads(registry.get_manifest(referrer.digest).data)
    assert manifest["artifactType"] == BUNDLE_TYPE
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert manifest["subject"]["digest"] == digest
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == BUNDLE_TYPE
    assert registry.get_blob(layer["digest"]) == WHEEL_BUNDLE.read_bytes()
    assert referrer.annotations == {"dev.sigstore.bundle.content": "message-signature"}
    # attaching again does not add a second index entry
    attach_bundle(registry, digest, WHEEL_BUNDLE.read_bytes())
    assert len(registry.referrers(digest, BUNDLE_TYPE)) == 1


@pytest.mark.requirement("FR-019", "US5")
def test_wrong_identity_regex_is_refused(registry: MemoryRegistry) -> None:
    digest = _signed_wheel(registry, as_payload=True)
    verdict = _verifier(regex=r"https://github\.com/someone-else/.*").verify(registry, digest)
    assert verdict.status == "failed"
    assert "matches no trusted_issuers entry" in verdict.reasons[0]


@pytest.mark.requirement("FR-019")
def test_regex_must_match_the_whole_san(registry: MemoryRegistry) -> None:
    digest = _signed_wheel(registry, as_payload=True)
    verdict = _verifier(regex=r"https://github\.com/trailofbits/").verify(registry, digest)
    assert verdict.status == "failed"


@pytest.mark.requirement("FR-019", "US5")
def test_wrong_issuer_is_refused(registry: MemoryRegistry) -> None:
    digest = _signed_wheel(registry, as_payload=True)
    verdict = _verifier(issuer="https://accounts.google.com").verify(registry, digest)
    assert verdict.status == "failed"
    assert "issuer 'https://token.actions.githubusercontent.com'" in verdict.reasons[0]


@pytest.mark.requirement("FR-019", "US5")
def test_one_changed_byte_in_the_wheel_is_refused(registry: MemoryRegistry) -> None:
    wheel = bytearray(WHEEL.read_bytes())
    wheel[1000] ^= 0x01
    digest = _signed_wheel(registry, bytes(wheel), as_payload=True)
    verdict = _verifier().verify(registry, digest)
    assert verdict.status == "failed"
    assert "digest mismatch" in verdict.reasons[0].lower()


@pytest.mark.requirement("FR-019")
def test_staging_bundle_is_refused_by_the_production_root(registry: MemoryRegistry) -> None:
    artifact = registry.push_artifact([DSSE_FILE.read_bytes()])
    attach_bundle(registry, artifact.digest, DSSE_BUNDLE.read_bytes())
    verdict = _verifier(regex=BEACON_REGEX).verify(registry, artifact.digest)
    assert verdict.status == "failed"
    assert "in-toto statement names" not in verdict.reasons[0]


@pytest.mark.requirement("FR-019", "US5")
def test_staging_dsse_with_foreign_subject_is_refused(registry: MemoryRegistry) -> None:
    artifact = registry.push_artifact([DSSE_FILE.read_bytes()])
    attach_bundle(registry, artifact.digest, DSSE_BUNDLE.read_bytes())
    (referrer,) = registry.referrers(artifact.digest, BUNDLE_TYPE)
    assert referrer.annotations["dev.sigstore.bundle.content"] == "dsse-envelope"
    verdict = _verifier(regex=BEACON_REGEX, root="staging").verify(registry, artifact.digest)
    assert verdict.status == "failed"
    # the signature and identity are valid; only floe's own subject check rejects it
    assert (f"in-toto statement names sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4c"
            f"bb190a30d56efa01bf, not manifest {artifact.digest}") in verdict.reasons[0]


@pytest.mark.requirement("FR-019")
def test_statement_subject_check() -> None:
    digest = "sha256:" + "ab" * 32
    good = {"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"sha256": "cd" * 32}},
                        {"name": "y", "digest": {"sha256": "ab" * 32}}]}
    _check_statement("application/vnd.in-toto+json", json.dumps(good).encode(), digest)
    with pytest.raises(_Rejected, match="payload type"):
        _check_statement("text/plain", json.dumps(good).encode(), digest)
    bad: object
    for bad in ({"subject": [{"digest": {"sha512": "ab" * 32}}]}, {"subject": "x"},
                {"subject": [{"digest": "ab"}]}, []):
        with pytest.raises(_Rejected, match="names no sha256 subject, not manifest"):
            _check_statement("application/vnd.in-toto+json", json.dumps(bad).encode(), digest)


@pytest.mark.requirement("FR-019")
def test_no_bundle_is_unsigned(registry: MemoryRegistry) -> None:
    artifact = registry.push_artifact([WHEEL.read_bytes()])
    verdict = _verifier().verify(registry, artifact.digest)
    assert verdict.status == "unsigned"


@pytest.mark.requirement("FR-019")
def test_referrer_listed_under_the_wrong_subject_is_refused(registry: MemoryRegistry) -> None:
    signed = _signed_wheel(registry)
    other = registry.push_artifact([b"other"])
    (referrer,) = registry.referrers(signed, BUNDLE_TYPE)
    registry.attach_referrer(other.digest, registry.get_manifest(referrer.digest), BUNDLE_TYPE)
    verdict = _verifier().verify(registry, other.digest)
    assert verdict.status == "failed" and "subject is not" in verdict.reasons[0]


@pytest.mark.requirement("FR-019")
def test_corrupt_bundle_blob_is_refused(registry: MemoryRegistry) -> None:
    digest = _signed_wheel(registry)
    registry.corrupt_blob(sha256_digest(WHEEL_BUNDLE.read_bytes()), b"{}")
    verdict = _verifier().verify(registry, digest)
    assert verdict.status == "failed" and "does not match" in verdict.reasons[0]


@pytest.mark.requirement("FR-019")
def test_attach_bundle_input_checks(registry: MemoryRegistry) -> None:
    artifact = registry.push_artifact([b"x"])
    with pytest.raises(UsageError, match="not a Sigstore bundle"):
        attach_bundle(registry, artifact.digest, b'{"mediaType": "text/plain"}')
    with pytest.raises(NotFoundError):
        attach_bundle(registry, "sha256:" + "0" * 64, WHEEL_BUNDLE.read_bytes())


@pytest.mark.requirement("FR-019", "FR-021")
def test_signature_verifier_keyless_end_to_end(registry: MemoryRegistry) -> None:
    digest = _signed_wheel(registry)
    policy = VerificationPolicy(
        enforcement="enforce",
        trusted_issuers=[TrustedIssuer(issuer=GITHUB, subject_regex=RELEASE_REGEX)],
    )
    verdict = SignatureVerifier(policy, trust_root="production").verify(registry, digest)
    assert verdict.status == "failed" and "not over manifest" in verdict.reasons[0]


def test_pinned_trust_roots_ship_with_the_package(tmp_path: Path) -> None:
    for name in ("production", "staging"):
        root = json.loads(trust_root_path(name).read_text())
        assert root["mediaType"].startswith("application/vnd.dev.sigstore.trustedroot")
    with pytest.raises(ConfigError, match="does not exist"):
        trust_root_path(tmp_path / "missing.json")

"""Keyless cosign signatures in the `.sig` layout, verified offline (FR-018, FR-019): the
real cosign 2.2.3 sample in tests/data/cosign-keyless, untouched and with one thing changed
at a time. The registry is the in-memory fake; the crypto, the trust root and the sample
are real."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from floe_ledger.adapters.signing.cosign_keyless import CosignKeylessVerifier
from floe_ledger.adapters.signing.rekor_set import Refused, TrustMaterial, parse_set_bundle
from floe_ledger.adapters.signing.verifier import SignatureVerifier, trust_root_path
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.signature import TrustedIssuer, VerificationPolicy
from support import cosign_keyless_sample as sample
from support.cosign_reference import write_key_pair
from support.memory_registry import MemoryRegistry

RIGHT = TrustedIssuer(issuer=sample.ISSUER, subject_regex=sample.SUBJECT_REGEX)
NOTES = sample.annotations(sample.sig_manifest_doc())
LEAF = x509.load_pem_x509_certificate(NOTES["dev.sigstore.cosign/certificate"].encode())


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any network connection fails: verification must need none."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access during offline verification: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield


def verify(trusted: list[TrustedIssuer], *, sig: dict[str, Any] | None = None,
           payload: bytes = sample.PAYLOAD, reference: str | None = None,
           root: str = str(sample.TRUSTED_ROOT)) -> Any:
    registry = MemoryRegistry()
    sample.store_sig(registry, sig=sig, payload=payload)
    return CosignKeylessVerifier(trusted, trust_root_path(root), reference).verify(
        registry, sample.DIGEST)


@pytest.mark.requirement("FR-018", "FR-019")
def test_the_real_sample_verifies_with_issuer_and_subject() -> None:
    verdict = verify([RIGHT])
    assert (verdict.status, verdict.mode) == ("verified", "keyless"), verdict.reasons
    assert (verdict.issuer, verdict.subject) == (sample.ISSUER, sample.SUBJECT)
    assert verdict.signature_ref and verdict.signature_ref.endswith("#layers/0")
    # the certificate expired minutes after signing: validity is judged at the Rekor time
    assert datetime.now(UTC) > LEAF.not_valid_after_utc


@pytest.mark.requirement("FR-019")
def test_floes_pinned_production_root_holds_the_fulcio_ca_and_rekor_key() -> None:
    assert trust_root_path("production").read_bytes() == sample.TRUSTED_ROOT.read_bytes()
    assert verify([RIGHT], root="production").status == "verified"
    staging = verify([RIGHT], root="staging")
    assert staging.status == "failed" and sample.SET_REFUSED in staging.reasons[0]


@pytest.mark.requirement("FR-005", "FR-019", "EXIT-6")
@pytest.mark.parametrize(("issuer", "regex"), [
    (sample.ISSUER, sample.OTHER_REGEX),
    ("https://accounts.google.com", sample.SUBJECT_REGEX),
    (sample.ISSUER, r"https://github\.com/salrashid123/go-bazel-github-workflow"),  # prefix
])
def test_any_other_identity_is_refused_naming_the_subject(issuer: str, regex: str) -> None:
    verdict = verify([TrustedIssuer(issuer=issuer, subject_regex=regex)])
    assert verdict.status == "failed"
    (reason,) = verdict.reasons
    assert f"{sample.SIG_TAG} layer 0" in reason
    assert sample.SUBJECT in reason and sample.ISSUER in reason
    assert "matches no trusted_issuers entry" in reason


@pytest.mark.requirement("FR-004", "FR-019")
def test_the_payload_must_name_the_repository_unless_told_otherwise() -> None:
    for same in (sample.DOCKER_REFERENCE, "docker.io/salrashid123/server_image"):
        assert verify([RIGHT], reference=same).status == "verified"
    other = verify([RIGHT], reference="registry.example/acme/server_image")
    assert other.status == "failed"
    assert "payload was signed for repository" in other.reasons[0]


@pytest.mark.requirement("FR-004", "FR-005", "FR-019")
def test_a_sig_copied_to_another_digest_is_refused() -> None:
    registry = MemoryRegistry()
    other = "sha256:" + "ab" * 32
    sample.store_sig(registry, digest=other)
    verdict = CosignKeylessVerifier([RIGHT], sample.TRUSTED_ROOT).verify(registry, other)
    assert verdict.status == "failed"
    assert f"payload digest {sample.DIGEST} does not match {other}" in verdict.reasons[0]


@pytest.mark.requirement("FR-005", "FR-019", "EXIT-6")
@pytest.mark.parametrize("case", sorted(sample.TAMPERINGS))
def test_each_tampering_is_refused_naming_what_failed(case: str) -> None:
    doc, payload, expected = sample.tampered(case)
    verdict = verify([RIGHT], sig=doc, payload=payload)
    if not expected:  # the chain annotation is never trusted, so changing it changes nothing
        assert verdict.status == "verified", verdict.reasons
        return
    assert verdict.status == "failed"
    (reason,) = verdict.reasons
    assert reason.startswith(f"{sample.SIG_TAG} layer 0: ") and expected in reason, reason


@pytest.mark.requirement("FR-019")
def test_no_sig_tag_or_no_keyless_layer_is_unsigned() -> None:
    registry = MemoryRegistry()
    verifier = CosignKeylessVerifier([RIGHT], sample.TRUSTED_ROOT)
    assert verifier.verify(registry, sample.DIGEST).status == "unsigned"
    doc = sample.sig_manifest_doc()
    for name in ("certificate", "chain", "bundle"):
        del sample.annotations(doc)[f"dev.sigstore.cosign/{name}"]
    sample.store_sig(registry, sig=doc)
    verdict = verifier.verify(registry, sample.DIGEST)
    assert verdict.status == "unsigned"
    assert "holds no keyless signature" in verdict.reasons[0]


@pytest.mark.requirement("FR-019")
def test_certificate_validity_bounds_are_inclusive_at_the_integrated_time() -> None:
    """integratedTime equals the leaf's notBefore to the second."""
    trust = TrustMaterial(sample.TRUSTED_ROOT)
    start, end = LEAF.not_valid_before_utc, LEAF.not_valid_after_utc
    assert start == datetime.fromtimestamp(sample.INTEGRATED_TIME, UTC)
    for moment in (start, end):
        trust.verify_certificate(LEAF, moment)
    second = timedelta(seconds=1)
    for moment in (start - second, end + second):
        with pytest.raises(Refused, match="was not valid at the Rekor integrated time"):
            trust.verify_certificate(LEAF, moment)


@pytest.mark.requirement("FR-019")
@pytest.mark.parametrize(("change", "expected"), [
    (lambda b: b["Payload"].update(integratedTime=True), "integratedTime is not"),
    (lambda b: b["Payload"].update(integratedTime=1.5), "integratedTime is not"),
    (lambda b: b["Payload"].update(logIndex=-1), "logIndex is not"),
    (lambda b: b["Payload"].update(integratedTime=2**40), "out of range"),
    (lambda b: b["Payload"].update(logID="C0D2"), "no hex logID"),
    (lambda b: b["Payload"].pop("body"), "is not a cosign SignedEntryTimestamp bundle"),
    (lambda b: b.update(SignedEntryTimestamp="not base64!"), "is not a cosign"),
])
def test_malformed_set_bundles_are_named(change: Any, expected: str) -> None:
    bundle = json.loads(NOTES["dev.sigstore.cosign/bundle"])
    change(bundle)
    with pytest.raises(Refused, match=expected):
        parse_set_bundle(json.dumps(bundle))
    with pytest.raises(Refused, match="too large"):
        parse_set_bundle(" " * 70000)


@pytest.mark.requirement("FR-019")
def test_the_set_signs_the_rfc8785_form_of_the_entry() -> None:
    entry = parse_set_bundle(NOTES["dev.sigstore.cosign/bundle"])
    canonical = entry.canonical()
    assert canonical.startswith(b'{"body":"eyJhcGlWZXJzaW9uIjoiMC4wLjEi')
    assert canonical.endswith(b'"integratedTime":1772216446,"logID":"c0d23d6ad406973f9559f3'
                              b'ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",'
                              b'"logIndex":1004096555}')


@pytest.mark.requirement("FR-018", "FR-019", "FR-022")
def test_signature_verifier_finds_the_keyless_sig_beside_keys_and_bundles(
        tmp_path: Path) -> None:
    """With public_keys and trusted_issuers both configured, the key check fails on the
    keyless layer, no bundle referrer exists, and the `.sig` keyless layer verifies."""
    write_key_pair(tmp_path, name="k")
    registry = MemoryRegistry()
    sample.store_sig(registry)
    policy = VerificationPolicy(enforcement="enforce", public_keys=["k.pub"],
                                trusted_issuers=[RIGHT], check_docker_reference=False)
    verifier = SignatureVerifier(policy, "production", base_dir=tmp_path)
    outcome = verifier.check(registry, sample.DIGEST, use_cache=False)
    assert outcome.decision == "proceed", outcome.message
    assert (outcome.verdict["issuer"], outcome.verdict["subject"]) == (sample.ISSUER,
                                                                       sample.SUBJECT)
    assert outcome.message == (f"Signature verified: keyless {sample.SUBJECT} "
                               f"(issuer {sample.ISSUER})")
    wrong = SignatureVerifier(policy.model_copy(update={"trusted_issuers": [
        TrustedIssuer(issuer=sample.ISSUER, subject_regex=sample.OTHER_REGEX)]}),
        "production", base_dir=tmp_path).check(registry, sample.DIGEST, use_cache=False)
    assert wrong.decision == "refuse" and sample.SUBJECT in wrong.message


@pytest.mark.requirement("FR-018", "FR-019")
@pytest.mark.parametrize("real", sample.SAMPLES, ids=lambda s: s.folder)
def test_every_real_sample_verifies_at_its_own_time_and_only_for_its_subject(
        real: sample.Sample) -> None:
    registry = MemoryRegistry()
    real.store(registry)
    verdict = CosignKeylessVerifier([RIGHT], trust_root_path("production")).verify(
        registry, real.digest)
    assert (verdict.status, verdict.subject) == ("verified", real.subject), verdict.reasons
    # the same workflow at another tag is another subject
    neighbour = next(s.subject for s in sample.SAMPLES if s is not real)
    exact = TrustedIssuer(issuer=sample.ISSUER, subject_regex=re.escape(neighbour))
    other = CosignKeylessVerifier([exact], trust_root_path("production")).verify(
        registry, real.digest)
    assert other.status == "failed" and real.subject in other.reasons[0]


@pytest.mark.requirement("FR-019")
def test_an_unusable_trust_root_is_a_configuration_error(tmp_path: Path) -> None:
    broken = tmp_path / "trusted_root.json"
    broken.write_text('{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;'
                      'version=0.1", "tlogs": "not a list"}')
    registry = MemoryRegistry()
    sample.store_sig(registry)
    with pytest.raises(ConfigError, match="cannot be used") as err:
        CosignKeylessVerifier([RIGHT], broken).verify(registry, sample.DIGEST)
    assert str(broken) in err.value.message

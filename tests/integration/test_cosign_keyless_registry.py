"""The real cosign keyless `.sig` sample verified in-process through floe's real registry
adapters (FR-018, FR-019, FR-022): DistributionRegistry against the session's
docker-registry 2.8 (the signed index pushed byte for byte beside its `.sig`), and
LayoutRegistry on an OCI image-layout directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry
from floe_ledger.adapters.signing import SignatureVerifier, SqliteVerdictCache
from floe_ledger.domain.model.signature import TrustedIssuer, VerificationPolicy
from floe_ledger.domain.services.ports import Registry
from support import cosign_keyless_sample as sample
from support.registry_server import RegistryServer

KEY = bytes(range(32))


def policy(regex: str = sample.SUBJECT_REGEX) -> VerificationPolicy:
    return VerificationPolicy(
        enforcement="enforce", check_docker_reference=False,
        trusted_issuers=[TrustedIssuer(issuer=sample.ISSUER, subject_regex=regex)])


@pytest.mark.requirement("FR-018", "FR-019", "FR-022")
def test_verified_through_the_distribution_adapter_and_cached(
        registry_server: RegistryServer, repo_name: str, tmp_path: Path) -> None:
    sample.lay_out(registry_server, repo_name)
    registry = open_registry(RegistrySettings(uri=registry_server.uri(repo_name),
                                              plain_http=True),
                             base_dir=tmp_path, env={"DOCKER_CONFIG": str(tmp_path)})
    try:
        assert registry.get_manifest(sample.VERSION).data == sample.INDEX
        verifier = SignatureVerifier(policy(), "production",
                                     cache=SqliteVerdictCache(tmp_path / "cache.db", KEY))
        first = verifier.verify(registry, sample.DIGEST)
        assert (first.status, first.issuer, first.subject) == (
            "verified", sample.ISSUER, sample.SUBJECT), first.reasons
        again = verifier.verify(registry, sample.DIGEST)
        assert again.cached and again.subject == sample.SUBJECT
        other = SignatureVerifier(policy(sample.OTHER_REGEX), "production").verify(
            registry, sample.DIGEST)
        assert other.status == "failed" and sample.SUBJECT in other.reasons[-1]
    finally:
        registry.close()


@pytest.mark.requirement("FR-018", "FR-019")
@pytest.mark.parametrize("case", ["", "payload", "set"])
def test_the_sig_in_each_kind_of_registry(registry: Registry, case: str) -> None:
    doc, payload, expected = sample.tampered(case) if case else (None, sample.PAYLOAD, "")
    sample.store_sig(registry, sig=doc, payload=payload)
    verdict = SignatureVerifier(policy(), sample.TRUSTED_ROOT).verify(
        registry, sample.DIGEST, use_cache=False)
    if not case:
        assert verdict.status == "verified", verdict.reasons
        assert verdict.signature_ref and verdict.signature_ref.endswith("#layers/0")
        return
    assert verdict.status == "failed"
    assert any(expected in reason for reason in verdict.reasons), verdict.reasons

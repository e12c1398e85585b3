"""Signing and verification against the real registry adapters.

Each test runs against DistributionRegistry talking to the session's real CNCF
distribution registry (docker-registry 2.8) and against LayoutRegistry on tmp_path.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry, push_files
from floe_ledger.adapters.signing import (
    BUNDLE_TYPE,
    SignatureVerifier,
    SqliteVerdictCache,
    attach_bundle,
    sign,
    signature_tag,
    verify_key_based,
)
from floe_ledger.adapters.signing.keys import load_public_key
from floe_ledger.domain.model.oci import Manifest
from floe_ledger.domain.model.signature import TrustedIssuer, VerificationPolicy
from floe_ledger.domain.services.ports import Registry
from support.cosign_reference import reference_sign, reference_verify, write_key_pair

DATA = Path(__file__).resolve().parents[1] / "data" / "sigstore"
KEY = bytes(range(32))
WHEEL = DATA / "rfc8785-0.1.2-py3-none-any.whl"
RELEASE = TrustedIssuer(
    issuer="https://token.actions.githubusercontent.com",
    subject_regex=r"https://github\.com/trailofbits/rfc8785\.py/\.github/workflows/"
    r"release\.yml@refs/tags/v0\.1\.2",
)


class CountingRegistry:
    """Delegates to a Registry and counts the calls (to prove cache hits skip it)."""

    def __init__(self, inner: Registry) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return target(*args, **kwargs)

        return counted


@pytest.fixture(params=["distribution", "layout"])
def target(request: pytest.FixtureRequest, tmp_path: Path,
           repo_name: str) -> Iterator[tuple[Registry, str]]:
    """A fresh repository and the docker-reference naming it."""
    env = {"DOCKER_CONFIG": str(tmp_path / "no-docker-config")}
    if request.param == "distribution":
        server = request.getfixturevalue("registry_server")
        settings = RegistrySettings(uri=server.uri(repo_name), plain_http=True)
        reference = f"{server.host}/{repo_name}"
    else:
        settings = RegistrySettings(uri="oci-layout:./layout")
        reference = "localhost/layout"
    registry = open_registry(settings, base_dir=tmp_path, env=env)
    yield registry, reference
    registry.close()


def _artifact(registry: Registry, tmp_path: Path, name: str = "bundle.tar.gz",
              content: bytes = b"platform bundle v1.2.3") -> Manifest:
    path = tmp_path / name
    path.write_bytes(content)
    return push_files(registry, [path], "v1.2.3-dev")


@pytest.mark.registry
@pytest.mark.requirement("FR-018", "FR-020")
@pytest.mark.parametrize("kind", ["ecdsa", "rsa", "ed25519"])
def test_sign_then_verify_in_a_real_registry(tmp_path: Path, target: tuple[Registry, str],
                                             kind: str) -> None:
    registry, reference = target
    private, public, _ = write_key_pair(tmp_path, kind)
    artifact = _artifact(registry, tmp_path)
    result = sign(registry, artifact.digest, private, reference)
    assert registry.resolve(signature_tag(artifact.digest)) is not None
    verdict = verify_key_based(registry, artifact.digest, [load_public_key(public)])
    assert verdict.status == "verified"
    assert verdict.signature_ref == f"{result.manifest_digest}#layers/0"
    assert reference_verify(registry, artifact.digest, public.read_bytes()) == [0]


@pytest.mark.registry
@pytest.mark.requirement("FR-018", "FR-020")
def test_floe_verifies_what_the_reference_signer_wrote(tmp_path: Path,
                                                       target: tuple[Registry, str]) -> None:
    registry, reference = target
    _, public, key = write_key_pair(tmp_path)
    artifact = _artifact(registry, tmp_path)
    reference_sign(registry, artifact.digest, key, reference)
    verdict = verify_key_based(registry, artifact.digest, [load_public_key(public)])
    assert verdict.status == "verified"


@pytest.mark.registry
@pytest.mark.requirement("FR-020", "US5")
def test_promotion_by_retag_keeps_the_signature_and_rejections_hold(
    tmp_path: Path, target: tuple[Registry, str]
) -> None:
    registry, reference = target
    first, first_pub, _ = write_key_pair(tmp_path, name="first")
    second, second_pub, _ = write_key_pair(tmp_path, "ed25519", name="second")
    _, stranger, _ = write_key_pair(tmp_path, name="stranger")
    artifact = _artifact(registry, tmp_path)
    sign(registry, artifact.digest, first, reference)
    sign(registry, artifact.digest, second, reference)
    registry.put_manifest("v1.2.3-staging", registry.get_manifest("v1.2.3-dev"))
    staging = registry.resolve("v1.2.3-staging")
    assert staging is not None and staging.digest == artifact.digest
    for public in (first_pub, second_pub):
        assert verify_key_based(registry, staging.digest, [load_public_key(public)]).verified
    refused = verify_key_based(registry, staging.digest, [load_public_key(stranger)])
    assert refused.status == "failed"
    other = _artifact(registry, tmp_path, "other.tar.gz", b"other")
    assert verify_key_based(registry, other.digest, [load_public_key(first_pub)]).status \
        == "unsigned"
    registry.put_manifest(signature_tag(other.digest),
                          registry.get_manifest(signature_tag(artifact.digest)))
    replayed = verify_key_based(registry, other.digest, [load_public_key(first_pub)])
    assert replayed.status == "failed" and "does not match" in replayed.reasons[0]


@pytest.mark.registry
@pytest.mark.requirement("FR-018", "FR-019")
def test_keyless_bundle_referrer_in_a_real_registry(tmp_path: Path,
                                                    target: tuple[Registry, str]) -> None:
    registry, _ = target
    artifact = push_files(registry, [WHEEL], "0.1.2-dev",
                          layer_media_type="application/vnd.python.wheel")
    referrer = attach_bundle(registry, artifact.digest, (DATA / f"{WHEEL.name}.sigstore.json")
                             .read_bytes())
    found = registry.referrers(artifact.digest, BUNDLE_TYPE)
    assert [d.digest for d in found] == [referrer]
    policy = VerificationPolicy(enforcement="enforce", trusted_issuers=[RELEASE])
    verdict = SignatureVerifier(policy).verify(registry, artifact.digest)
    # the real bundle signs the wheel (the layer blob), not the manifest: refused (FR-004)
    assert verdict.status == "failed"
    assert f"bundle {referrer}: message signature over layer blob" in verdict.reasons[0]
    wrong = VerificationPolicy(enforcement="enforce", trusted_issuers=[
        RELEASE.model_copy(update={"subject_regex": "https://github.com/other/.*"})])
    assert SignatureVerifier(wrong).verify(registry, artifact.digest).status == "failed"


@pytest.mark.registry
@pytest.mark.requirement("FR-022")
def test_sqlite_cache_skips_the_registry(tmp_path: Path, target: tuple[Registry, str]) -> None:
    registry, reference = target
    private, public, _ = write_key_pair(tmp_path)
    artifact = _artifact(registry, tmp_path)
    sign(registry, artifact.digest, private, reference)
    counting = CountingRegistry(registry)
    policy = VerificationPolicy(enforcement="enforce", public_keys=[str(public)])
    verifier = SignatureVerifier(policy, cache=SqliteVerdictCache(tmp_path / "ledger.db", KEY))
    assert not verifier.verify(counting, artifact.digest).cached
    before = sum(counting.calls.values())
    assert verifier.verify(counting, artifact.digest).cached
    assert sum(counting.calls.values()) == before


@pytest.mark.registry
@pytest.mark.requirement("FR-020", "FR-022")
def test_key_based_verify_latency(tmp_path: Path, registry_server: Any, repo_name: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    settings = RegistrySettings(uri=registry_server.uri(repo_name), plain_http=True)
    registry = open_registry(settings, base_dir=tmp_path, env={"DOCKER_CONFIG": str(tmp_path)})
    private, public, _ = write_key_pair(tmp_path)
    artifact = _artifact(registry, tmp_path)
    sign(registry, artifact.digest, private, f"{registry_server.host}/{repo_name}")
    policy = VerificationPolicy(enforcement="enforce", public_keys=[str(public)])
    verifier = SignatureVerifier(policy, cache=SqliteVerdictCache(tmp_path / "ledger.db", KEY))
    verifier.verify(registry, artifact.digest, use_cache=False)  # warm the connection
    uncached = _timings(lambda: verifier.verify(registry, artifact.digest, use_cache=False))
    cached = _timings(lambda: verifier.verify(registry, artifact.digest))
    registry.close()
    report = {"uncached_ms": _summary(uncached), "cached_ms": _summary(cached)}
    with capsys.disabled():
        print(f"\nkey-based verify latency (real registry): {json.dumps(report)}")
    assert statistics.median(uncached) < 250
    assert statistics.median(cached) < statistics.median(uncached)


def _timings(call: Any, n: int = 40) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        assert call().verified
        out.append((time.perf_counter() - start) * 1000)
    return out


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(len(ordered) * 0.95) - 1], 2),
            "max": round(ordered[-1], 2)}

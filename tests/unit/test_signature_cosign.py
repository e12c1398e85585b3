"""Key-based signatures in the legacy cosign layout, against the in-memory registry."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from floe_ledger.adapters.signing.cosign import (
    SIGNATURE_ANNOTATION,
    normalize_reference,
    payload_problem,
    sign,
    signature_config,
    signature_tag,
    simple_signing_payload,
    verify_key_based,
)
from floe_ledger.adapters.signing.keys import TrustedKey, load_public_key
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest
from support.cosign_reference import (
    reference_sign,
    reference_verify,
    write_key_pair,
)
from support.memory_registry import MemoryRegistry, compact, sha256_digest

DOCKER_REF = "registry.test/floe/app"

# A real `.sig` manifest and config written by cosign v1.13.1 (from a published
# `cosign sign --verbose` log), used to compare floe's output shape with cosign's.
REAL_COSIGN_MANIFEST = (
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":'
    '{"mediaType":"application/vnd.oci.image.config.v1+json","size":247,"digest":"sha256:'
    '85ad8e17d3d7c00664855c638832bd99f32d42542c2d587851410a45a7f60b95"},"layers":[{"mediaType":'
    '"application/vnd.dev.cosign.simplesigning.v1+json","size":252,"digest":"sha256:'
    'b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc","annotations":'
    '{"dev.cosignproject.cosign/signature":"MEYCIQCPH7NJAIfrB6BZN91dV0o7l/i11muXrvrAh100jDMMhAIhAPs'
    'LH0oXb2OPITXRpWBMUd3vHtz5Ks5pql2Hr6t/IJXw"}}]}'
)
REAL_COSIGN_CONFIG = (
    '{"architecture":"","created":"2023-02-17T09:25:33.91047962-08:00","history":[{"created":'
    '"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:'
    'b671489ededd1a180bd87235bba00fd83354f9c7d13b71d9f8b66a8e52965ebc"]},"config":{}}'
)


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


@pytest.fixture
def artifact(registry: MemoryRegistry) -> Manifest:
    return registry.push_artifact([b"release bundle v1.2.3"], tag="v1.2.3-dev")


def _keys(*paths: Path) -> list[TrustedKey]:
    return [load_public_key(p) for p in paths]


def _replace_first_layer(registry: MemoryRegistry, digest: str, payload: bytes,
                         signature: bytes) -> None:
    """Rewrite the `.sig` manifest so its first layer is ``payload`` signed by ``signature``."""
    tag = signature_tag(digest)
    doc = json.loads(registry.get_manifest(tag).data)
    registry.put_blob(payload)
    encoded = base64.b64encode(signature).decode()
    doc["layers"][0].update(digest=sha256_digest(payload), size=len(payload),
                            annotations={SIGNATURE_ANNOTATION: encoded})
    config = signature_config([layer["digest"] for layer in doc["layers"]])
    registry.put_blob(config)
    doc["config"].update(digest=sha256_digest(config), size=len(config))
    data = compact(doc)
    registry.put_manifest(tag, Manifest(sha256_digest(data), OCI_MANIFEST, data))


@pytest.mark.requirement("FR-018", "FR-020")
@pytest.mark.parametrize("kind", ["ecdsa", "rsa", "ed25519"])
def test_sign_then_verify(tmp_path: Path, registry: MemoryRegistry, artifact: Manifest,
                          kind: str) -> None:
    private, public, _ = write_key_pair(tmp_path, kind)
    result = sign(registry, artifact.digest, private, DOCKER_REF)
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert result.added and result.layer_index == 0
    assert verdict.status == "verified" and verdict.mode == "key"
    assert verdict.key_fingerprint == load_public_key(public).fingerprint
    assert verdict.signature_ref == f"{result.manifest_digest}#layers/0"
    assert registry.tags[signature_tag(artifact.digest)] == result.manifest_digest


@pytest.mark.requirement("FR-020")
def test_signature_layout_is_exactly_cosign(tmp_path: Path, registry: MemoryRegistry,
                                            artifact: Manifest) -> None:
    private, _, _ = write_key_pair(tmp_path)
    sign(registry, artifact.digest, private, DOCKER_REF)
    stored = registry.get_manifest(f"{artifact.digest.replace(':', '-')}.sig")
    doc = json.loads(stored.data)
    layer = doc["layers"][0]
    payload = registry.get_blob(layer["digest"])
    assert payload == (
        '{"critical":{"identity":{"docker-reference":"registry.test/floe/app"},'
        f'"image":{{"docker-manifest-digest":"{artifact.digest}"}},'
        '"type":"cosign container image signature"},"optional":null}'
    ).encode()
    assert base64.b64encode(base64.b64decode(layer["annotations"][SIGNATURE_ANNOTATION])) \
        == layer["annotations"][SIGNATURE_ANNOTATION].encode()
    config = json.loads(registry.get_blob(doc["config"]["digest"]))
    assert config["rootfs"] == {"type": "layers", "diff_ids": [layer["digest"]]}


@pytest.mark.requirement("FR-020")
def test_output_has_the_shape_of_a_real_cosign_signature(tmp_path: Path, registry: MemoryRegistry,
                                                          artifact: Manifest) -> None:
    def shape(value: object) -> object:
        if isinstance(value, dict):
            return [(k, shape(v)) for k, v in value.items()]
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    private, _, _ = write_key_pair(tmp_path)
    sign(registry, artifact.digest, private, DOCKER_REF)
    ours = json.loads(registry.get_manifest(signature_tag(artifact.digest)).data)
    real = json.loads(REAL_COSIGN_MANIFEST)
    assert shape(ours) == shape(real)
    assert ours["config"]["mediaType"] == real["config"]["mediaType"]
    assert ours["layers"][0]["mediaType"] == real["layers"][0]["mediaType"]
    our_config = json.loads(registry.get_blob(ours["config"]["digest"]))
    assert shape(our_config) == shape(json.loads(REAL_COSIGN_CONFIG))


@pytest.mark.requirement("FR-020")
def test_promoted_retag_verifies_without_new_signature(tmp_path: Path, registry: MemoryRegistry,
                                                        artifact: Manifest) -> None:
    private, public, _ = write_key_pair(tmp_path)
    sign(registry, artifact.digest, private, DOCKER_REF)
    puts_before = registry.calls["put_manifest"]
    promoted = registry.retag("v1.2.3-dev", "v1.2.3-staging")
    assert promoted == artifact.digest
    assert registry.calls["put_manifest"] == puts_before + 1
    staging = registry.resolve("v1.2.3-staging")
    assert staging is not None
    assert verify_key_based(registry, staging.digest, _keys(public)).status == "verified"


@pytest.mark.requirement("FR-020", "US5")
def test_unsigned_digest(tmp_path: Path, registry: MemoryRegistry, artifact: Manifest) -> None:
    _, public, _ = write_key_pair(tmp_path)
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert verdict.status == "unsigned"
    assert "not found" in verdict.reasons[0]


@pytest.mark.requirement("FR-020", "US5")
def test_signed_with_another_key_fails(tmp_path: Path, registry: MemoryRegistry,
                                       artifact: Manifest) -> None:
    private, _, _ = write_key_pair(tmp_path, name="signer")
    _, trusted, _ = write_key_pair(tmp_path, name="trusted")
    sign(registry, artifact.digest, private, DOCKER_REF)
    verdict = verify_key_based(registry, artifact.digest, _keys(trusted))
    assert verdict.status == "failed"
    assert "signature does not match any configured key" in verdict.reasons[0]


@pytest.mark.requirement("FR-020", "US5")
def test_sig_manifest_copied_from_another_artifact_fails(
    tmp_path: Path, registry: MemoryRegistry, artifact: Manifest
) -> None:
    private, public, _ = write_key_pair(tmp_path)
    other = registry.push_artifact([b"another release"], tag="v9.9.9-dev")
    sign(registry, other.digest, private, DOCKER_REF)
    copied = registry.get_manifest(signature_tag(other.digest))
    registry.put_manifest(signature_tag(artifact.digest), copied)
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert verdict.status == "failed"
    assert f"payload digest {other.digest} does not match {artifact.digest}" in verdict.reasons[0]


@pytest.mark.requirement("FR-020", "US5")
def test_tampered_payload_with_signature_kept_fails(
    tmp_path: Path, registry: MemoryRegistry, artifact: Manifest
) -> None:
    private, public, _ = write_key_pair(tmp_path)
    sign(registry, artifact.digest, private, DOCKER_REF)
    tag = signature_tag(artifact.digest)
    layer = json.loads(registry.get_manifest(tag).data)["layers"][0]
    kept_signature = base64.b64decode(layer["annotations"][SIGNATURE_ANNOTATION])
    forged = simple_signing_payload(artifact.digest, "evil.test/other")
    _replace_first_layer(registry, artifact.digest, forged, kept_signature)
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert verdict.status == "failed"
    assert "signature does not match any configured key" in verdict.reasons[0]


@pytest.mark.requirement("FR-020")
def test_payload_blob_swapped_in_registry_fails(tmp_path: Path, registry: MemoryRegistry,
                                                artifact: Manifest) -> None:
    private, public, _ = write_key_pair(tmp_path)
    sign(registry, artifact.digest, private, DOCKER_REF)
    layer = json.loads(registry.get_manifest(signature_tag(artifact.digest)).data)["layers"][0]
    registry.corrupt_blob(layer["digest"], b'{"critical":{}}')
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert verdict.status == "failed"
    assert "does not match" in verdict.reasons[0]


@pytest.mark.requirement("FR-020")
def test_wrong_payload_type_fails(tmp_path: Path, registry: MemoryRegistry,
                                  artifact: Manifest) -> None:
    _, public, key = write_key_pair(tmp_path)
    reference_sign(registry, artifact.digest, key, DOCKER_REF)
    payload = simple_signing_payload(artifact.digest, DOCKER_REF).replace(
        b"cosign container image signature", b"something else")
    _replace_first_layer(registry, artifact.digest, payload,
                         key.sign(payload, ec.ECDSA(hashes.SHA256())))
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert verdict.status == "failed"
    assert "payload type 'something else'" in verdict.reasons[0]


@pytest.mark.requirement("FR-020")
def test_two_signers_each_key_verifies(tmp_path: Path, registry: MemoryRegistry,
                                       artifact: Manifest) -> None:
    first_key, first_pub, _ = write_key_pair(tmp_path, "ecdsa", name="first")
    second_key, second_pub, _ = write_key_pair(tmp_path, "ed25519", name="second")
    sign(registry, artifact.digest, first_key, DOCKER_REF)
    second = sign(registry, artifact.digest, second_key, DOCKER_REF)
    assert second.layer_index == 1
    layers = json.loads(registry.get_manifest(signature_tag(artifact.digest)).data)["layers"]
    assert len(layers) == 2
    one = verify_key_based(registry, artifact.digest, _keys(first_pub))
    two = verify_key_based(registry, artifact.digest, _keys(second_pub))
    assert (one.status, one.signature_ref) == ("verified", f"{second.manifest_digest}#layers/0")
    assert (two.status, two.signature_ref) == ("verified", f"{second.manifest_digest}#layers/1")


@pytest.mark.requirement("FR-020")
def test_signing_twice_with_same_key_adds_nothing(tmp_path: Path, registry: MemoryRegistry,
                                                  artifact: Manifest) -> None:
    private, _, _ = write_key_pair(tmp_path)
    first = sign(registry, artifact.digest, private, DOCKER_REF)
    again = sign(registry, artifact.digest, private, DOCKER_REF)
    assert not again.added
    assert again.manifest_digest == first.manifest_digest and again.layer_index == 0


@pytest.mark.requirement("FR-018", "FR-020")
@pytest.mark.parametrize("kind", ["ecdsa", "rsa", "ed25519"])
def test_reference_verifier_accepts_what_floe_wrote(tmp_path: Path, registry: MemoryRegistry,
                                                    artifact: Manifest, kind: str) -> None:
    private, public, _ = write_key_pair(tmp_path, kind, name="a")
    other, _, _ = write_key_pair(tmp_path, "ecdsa", name="b")
    sign(registry, artifact.digest, other, DOCKER_REF)
    sign(registry, artifact.digest, private, DOCKER_REF)
    assert reference_verify(registry, artifact.digest, public.read_bytes()) == [1]


@pytest.mark.requirement("FR-018", "FR-020")
@pytest.mark.parametrize("kind", ["ecdsa", "rsa", "ed25519"])
def test_floe_verifies_what_the_reference_signer_wrote(tmp_path: Path, registry: MemoryRegistry,
                                                       artifact: Manifest, kind: str) -> None:
    _, public, key = write_key_pair(tmp_path, kind)
    reference_sign(registry, artifact.digest, key, DOCKER_REF)
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert verdict.status == "verified"
    # and floe appends to a reference-written manifest without breaking the layout
    private2, public2, _ = write_key_pair(tmp_path, "ecdsa", name="second")
    sign(registry, artifact.digest, private2, DOCKER_REF)
    assert reference_verify(registry, artifact.digest, public.read_bytes()) == [0]
    assert reference_verify(registry, artifact.digest, public2.read_bytes()) == [1]


@pytest.mark.requirement("FR-020")
def test_encrypted_key_needs_password_and_never_leaks_it(tmp_path: Path, registry: MemoryRegistry,
                                                         artifact: Manifest) -> None:
    password = b"hunter2-very-secret"
    private, public, _ = write_key_pair(tmp_path, "ecdsa", password=password)
    with pytest.raises(ConfigError) as err:
        sign(registry, artifact.digest, private, DOCKER_REF, password="wrong-password-xyz")
    text = f"{err.value} {err.value.hint} {err.value.details} {err.value.__cause__!r}"
    assert "wrong-password-xyz" not in text and "PRIVATE KEY" not in text
    assert err.value.__cause__ is None and err.value.__suppress_context__
    sign(registry, artifact.digest, private, DOCKER_REF, password=password.decode())
    assert verify_key_based(registry, artifact.digest, _keys(public)).status == "verified"


@pytest.mark.requirement("FR-020")
def test_unreadable_or_bad_keys_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "cosign.key").write_text(
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n"
        "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    (tmp_path / "junk.pub").write_text("not a key")
    registry = MemoryRegistry()
    digest = registry.push_artifact([b"x"]).digest
    with pytest.raises(ConfigError, match="cosign-encrypted"):
        sign(registry, digest, tmp_path / "cosign.key", DOCKER_REF)
    with pytest.raises(ConfigError, match="not a PEM SubjectPublicKeyInfo"):
        load_public_key(tmp_path / "junk.pub")
    with pytest.raises(ConfigError, match="cannot read public key"):
        load_public_key(tmp_path / "missing.pub")


@pytest.mark.requirement("FR-020")
def test_malformed_signature_manifests_fail_cleanly(tmp_path: Path, registry: MemoryRegistry,
                                                    artifact: Manifest) -> None:
    _, public, _ = write_key_pair(tmp_path)
    tag = signature_tag(artifact.digest)
    payload = simple_signing_payload(artifact.digest, DOCKER_REF)
    registry.put_blob(payload)
    registry.put_blob(b"{}")
    layer = {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
             "size": len(payload), "digest": sha256_digest(payload),
             "annotations": {SIGNATURE_ANNOTATION: "not*base64"}}
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                      "digest": sha256_digest(b"{}")},
           "layers": [layer, {**layer, "mediaType": "text/plain"}]}
    data = compact(doc)
    registry.put_manifest(tag, Manifest(sha256_digest(data), OCI_MANIFEST, data))
    verdict = verify_key_based(registry, artifact.digest, _keys(public))
    assert verdict.status == "failed"
    assert "malformed" in verdict.reasons[0] and "text/plain" in verdict.reasons[1]


@pytest.mark.requirement("FR-020")
def test_empty_signature_manifest_is_unsigned(tmp_path: Path, registry: MemoryRegistry,
                                              artifact: Manifest) -> None:
    _, public, _ = write_key_pair(tmp_path)
    registry.put_blob(b"{}")
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                      "digest": sha256_digest(b"{}")}, "layers": []}
    data = compact(doc)
    registry.put_manifest(signature_tag(artifact.digest),
                          Manifest(sha256_digest(data), OCI_MANIFEST, data))
    assert verify_key_based(registry, artifact.digest, _keys(public)).status == "unsigned"


@pytest.mark.requirement("FR-020")
def test_key_paths_are_accepted_and_corrupt_manifests_fail(
    tmp_path: Path, registry: MemoryRegistry, artifact: Manifest
) -> None:
    private, public, _ = write_key_pair(tmp_path)
    result = sign(registry, artifact.digest, private, DOCKER_REF)
    assert verify_key_based(registry, artifact.digest, [public]).status == "verified"
    assert verify_key_based(registry, artifact.digest, [str(public)]).status == "verified"
    registry.corrupt_manifest(result.manifest_digest, b'{"layers": []}')
    verdict = verify_key_based(registry, artifact.digest, [public])
    assert verdict.status == "failed" and "hash to" in verdict.reasons[0]


@pytest.mark.requirement("FR-004")
def test_docker_reference_normalisation() -> None:
    assert normalize_reference("index.docker.io/salrashid123/server_image") == \
        normalize_reference("docker.io/salrashid123/server_image:latest")
    assert normalize_reference("docker.io/alpine") == "docker.io/library/alpine"
    assert normalize_reference("Localhost:5000/a/b@sha256:" + "0" * 64) == "localhost:5000/a/b"
    digest = "sha256:" + "c" * 64
    payload = (b'{"critical":{"identity":{"docker-reference":"reg.example/team/a"},'
               b'"image":{"docker-manifest-digest":"' + digest.encode() +
               b'"},"type":"cosign container image signature"},"optional":null}')
    assert payload_problem(payload, digest, "reg.example/team/a") == ""
    assert payload_problem(payload, digest, None) == ""
    assert "signed for repository 'reg.example/team/a'" in payload_problem(
        payload, digest, "reg.example/team/b")

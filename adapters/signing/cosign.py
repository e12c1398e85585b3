"""Key-based signatures in the legacy cosign layout (FR-018, FR-020).

Layout, exactly as cosign writes it:

* tag ``sha256-<hex>.sig`` in the artifact's repository;
* an OCI image manifest whose config (``application/vnd.oci.image.config.v1+json``)
  is a go-containerregistry config with ``rootfs.diff_ids`` = the layer digests;
* one layer per signature, media type ``application/vnd.dev.cosign.simplesigning.v1+json``,
  whose blob is the simple-signing payload and whose annotation
  ``dev.cosignproject.cosign/signature`` is the standard base64 signature over it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_ledger.adapters.signing.keys import (
    PrivateKey,
    TrustedKey,
    load_private_key,
    load_public_key,
    sign_bytes,
    spki_fingerprint,
)
from floe_ledger.adapters.signing.oci import (
    descriptor,
    layers_of,
    manifest_of,
    verified_manifest_json,
)
from floe_ledger.domain.model.errors import ConcurrencyError, IntegrityError, NotFoundError
from floe_ledger.domain.model.oci import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    ordered_json,
    sha256_digest,
)
from floe_ledger.domain.model.signature import SignatureVerdict
from floe_ledger.domain.model.values import check_digest
from floe_ledger.domain.services.ports import Registry

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
COSIGN_TYPE = "cosign container image signature"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
ZERO_TIME = "0001-01-01T00:00:00Z"
MAX_LAYERS = 64
MAX_PAYLOAD = 64 * 1024


@dataclass(frozen=True)
class SignResult:
    """What :func:`sign` did.

    Attributes:
        tag: the ``.sig`` tag.
        manifest_digest: digest of the ``.sig`` manifest now at the tag.
        layer_index: index of this key's signature layer in it.
        added: False if this key already had a valid signature (nothing written).
        key_fingerprint: SPKI fingerprint of the signing key's public half.
    """

    tag: str
    manifest_digest: str
    layer_index: int
    added: bool
    key_fingerprint: str


def signature_tag(digest: str) -> str:
    """The cosign signature tag of ``digest``: ``sha256-<hex>.sig``."""
    return check_digest(digest).replace(":", "-") + ".sig"


def simple_signing_payload(digest: str, docker_reference: str) -> bytes:
    """The cosign simple-signing payload for ``digest`` (compact, cosign's key order)."""
    return ordered_json({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": check_digest(digest)},
            "type": COSIGN_TYPE,
        },
        "optional": None,
    })


def signature_config(layer_digests: Sequence[str]) -> bytes:
    """The go-containerregistry config blob cosign writes for these layers."""
    return ordered_json({
        "architecture": "",
        "created": ZERO_TIME,
        "history": [{"created": ZERO_TIME} for _ in layer_digests],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": list(layer_digests)},
        "config": {},
    })


def sign(
    registry: Registry,
    digest: str,
    private_key_pem_path: str | Path,
    docker_reference: str,
    password: str | bytes | None = None,
) -> SignResult:
    """Sign ``digest`` with a PKCS#8 PEM key and store it in the cosign layout.

    Appends one layer to the existing ``.sig`` manifest (other signers' layers
    are kept) unless this key already signed ``digest`` there.

    Args:
        registry: the artifact's repository.
        digest: the manifest digest to sign.
        private_key_pem_path: ECDSA, RSA or Ed25519 private key (PEM).
        docker_reference: ``<registry>/<repository>``, recorded in the payload.
        password: the key's password, if it is encrypted.

    Raises:
        ConfigError: the key cannot be loaded (the message never holds secrets).
        ConcurrencyError: another writer changed the ``.sig`` tag meanwhile.
    """
    key = load_private_key(private_key_pem_path, password)
    tag = signature_tag(digest)
    fingerprint = spki_fingerprint(key.public_key())
    current, layers = _existing_layers(registry, tag)
    trusted = TrustedKey(key.public_key(), fingerprint, "signing key")
    for index, layer in enumerate(layers):
        if _check_layer(registry, layer, digest, [trusted], docker_reference)[0] is not None:
            return SignResult(tag, current, index, False, fingerprint)
    layers.append(_upload_signature(registry, key, digest, docker_reference))
    written = _put_signature_manifest(registry, tag, layers)
    return SignResult(tag, written, len(layers) - 1, True, fingerprint)


def verify_key_based(
    registry: Registry, digest: str, public_keys: Sequence[TrustedKey | str | Path],
    docker_reference: str | None = None,
) -> SignatureVerdict:
    """Verify ``digest``'s cosign signatures against the configured keys.

    Args:
        registry: the artifact's repository.
        digest: the manifest digest being verified (and promoted).
        public_keys: loaded keys, or paths of PEM SubjectPublicKeyInfo files.
        docker_reference: the repository being promoted (``host/repository``); when given,
            a payload's ``critical.identity.docker-reference`` must name it (FR-004: a
            signature made for another repository does not vouch for this one).

    Returns:
        ``verified`` (key fingerprint and ``signature_ref`` of the first valid
        layer), ``unsigned`` (no ``.sig`` tag or no layers), or ``failed`` with
        one reason per layer.
    """
    keys = [k if isinstance(k, TrustedKey) else load_public_key(k) for k in public_keys]
    tag = signature_tag(digest)
    try:
        manifest = registry.get_manifest(tag)
    except NotFoundError:
        return SignatureVerdict(digest=digest, status="unsigned", mode="key",
                       reasons=[f"no cosign signature (tag {tag} not found)"])
    try:
        layers = signature_layers(manifest.media_type, verified_manifest_json(manifest))
    except IntegrityError as err:
        return SignatureVerdict(digest=digest, status="failed", mode="key", reasons=[err.message])
    if not layers:
        return SignatureVerdict(digest=digest, status="unsigned", mode="key",
                       reasons=[f"{tag} holds no signatures"])
    reasons = []
    for index, layer in enumerate(layers[:MAX_LAYERS]):
        key, reason = _check_layer(registry, layer, digest, keys, docker_reference)
        if key is not None:
            return SignatureVerdict(digest=digest, status="verified", mode="key",
                           key_fingerprint=key.fingerprint,
                           signature_ref=f"{sha256_digest(manifest.data)}#layers/{index}")
        reasons.append(f"{tag} layer {index}: {reason}")
    if len(layers) > MAX_LAYERS:
        reasons.append(f"{tag}: only the first {MAX_LAYERS} of {len(layers)} layers were checked")
    return SignatureVerdict(digest=digest, status="failed", mode="key", reasons=reasons)


def signature_layers(media_type: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers of a ``.sig`` manifest (IntegrityError if it is not an image manifest)."""
    if media_type not in (OCI_MANIFEST, DOCKER_MANIFEST):
        raise IntegrityError(f"signature manifest has media type {media_type!r}")
    return layers_of(manifest)


def _check_layer(
    registry: Registry, layer: dict[str, Any], digest: str, keys: Sequence[TrustedKey],
    docker_reference: str | None = None,
) -> tuple[TrustedKey | None, str]:
    """The key that validly signed ``digest`` in this layer, or None and why not."""
    if layer.get("mediaType") != SIMPLE_SIGNING:
        return None, f"layer media type {layer.get('mediaType')!r} is not {SIMPLE_SIGNING}"
    signature = decode_signature(layer)
    if signature is None:
        return None, f"missing or malformed {SIGNATURE_ANNOTATION} annotation"
    payload, reason = fetch_payload(registry, layer)
    if payload is None:
        return None, reason
    key = next((k for k in keys if k.verifies(signature, payload)), None)
    if key is None:
        return None, "signature does not match any configured key"
    problem = payload_problem(payload, digest, docker_reference)
    return (None, problem) if problem else (key, "")


def decode_signature(layer: dict[str, Any]) -> bytes | None:
    """The layer's ``dev.cosignproject.cosign/signature`` bytes, None if absent or not base64."""
    annotations = layer.get("annotations")
    value = annotations.get(SIGNATURE_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        return None


def fetch_payload(registry: Registry, layer: dict[str, Any]) -> tuple[bytes | None, str]:
    """The layer's payload blob, checked against its digest; or None and why not."""
    blob_digest, size = layer.get("digest"), layer.get("size")
    if not isinstance(blob_digest, str) or not isinstance(size, int) or size > MAX_PAYLOAD:
        return None, "layer descriptor has no digest, or the payload is too large"
    try:
        payload = registry.get_blob(blob_digest)
    except (NotFoundError, IntegrityError) as err:
        return None, f"payload blob {blob_digest}: {err.message}"
    if sha256_digest(payload) != blob_digest:
        return None, f"payload blob does not match its digest {blob_digest}"
    return payload, ""


def payload_problem(payload: bytes, digest: str, docker_reference: str | None = None) -> str:
    """Why this (validly signed) simple-signing payload does not vouch for ``digest`` in
    the repository ``docker_reference`` (None: any repository); "" if it does."""
    try:
        critical = json.loads(payload)["critical"]
        kind = critical["type"]
        signed = critical["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError):
        return "payload is not a cosign simple-signing document"
    if kind != COSIGN_TYPE:
        return f"payload type {kind!r} is not {COSIGN_TYPE!r}"
    if signed != digest:
        return f"payload digest {signed} does not match {digest}"
    if docker_reference is None:
        return ""
    identity = critical.get("identity")
    named = identity.get("docker-reference") if isinstance(identity, dict) else None
    if not isinstance(named, str) or not named:
        return (f"payload names no critical.identity.docker-reference, expected "
                f"{docker_reference} (verification.check_docker_reference)")
    if normalize_reference(named) != normalize_reference(docker_reference):
        return (f"payload was signed for repository {named!r}, not {docker_reference!r} "
                f"(verification.check_docker_reference)")
    return ""


_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


def normalize_reference(reference: str) -> str:
    """``host/repository`` of a docker reference: tag and digest dropped, host lower-cased,
    Docker Hub's aliases (and its implicit ``library/``) made one. A path stays a path."""
    if reference.startswith("/"):
        return reference.rstrip("/")
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash and slash != -1:
        name = name[:colon]
    host, _, repository = name.partition("/")
    host = host.lower()
    if host in _DOCKER_HUB:
        host = "docker.io"
        if "/" not in repository:
            repository = f"library/{repository}"
    return f"{host}/{repository}"


def _existing_layers(registry: Registry, tag: str) -> tuple[str, list[dict[str, Any]]]:
    try:
        manifest = registry.get_manifest(tag)
    except NotFoundError:
        return "", []
    return manifest.digest, signature_layers(manifest.media_type, verified_manifest_json(manifest))


def _upload_signature(
    registry: Registry, key: PrivateKey, digest: str, docker_reference: str
) -> dict[str, Any]:
    payload = simple_signing_payload(digest, docker_reference)
    signature = base64.b64encode(sign_bytes(key, payload)).decode()
    registry.put_blob(payload, SIMPLE_SIGNING)
    return descriptor(SIMPLE_SIGNING, payload, annotations={SIGNATURE_ANNOTATION: signature})


def _put_signature_manifest(registry: Registry, tag: str, layers: list[dict[str, Any]]) -> str:
    config = signature_config([str(layer["digest"]) for layer in layers])
    registry.put_blob(config, OCI_CONFIG)
    body = ordered_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": layers,
    })
    manifest = manifest_of(body, OCI_MANIFEST)
    registry.put_manifest(tag, manifest)
    current = registry.resolve(tag)
    if current is None or current.digest != manifest.digest:
        raise ConcurrencyError(
            f"another writer replaced {tag} while signing",
            hint="sign again; signatures already there are kept",
        )
    return manifest.digest

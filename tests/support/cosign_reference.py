"""An independent, minimal implementation of cosign's legacy key-based signature layout.

Written from the layout described in docs/design-notes.md#cosign-key-layout (itself
read from cosign ``pkg/oci/static/signature.go``, ``pkg/types/media.go`` and sigstore
``pkg/signature/payload/payload.go``) with plain ``json`` and ``cryptography``. It
deliberately does NOT import ``floe_ledger.adapters.signing``: the tests use it to
prove that floe writes exactly cosign's format, and that floe verifies what another
cosign-format writer produces.

The verifier is strict about the format (it raises :class:`CosignFormatError`) and
returns the indices of the layers whose signature verifies for the given key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from floe_ledger.domain.model.oci import Manifest  # the protocol's value type only

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIG_ANNOTATION = "dev.cosignproject.cosign/signature"
PAYLOAD_TEMPLATE = (
    '{"critical":{"identity":{"docker-reference":"%s"},'
    '"image":{"docker-manifest-digest":"%s"},'
    '"type":"cosign container image signature"},"optional":null}'
)
STD_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


class CosignFormatError(AssertionError):
    """The signature manifest deviates from cosign's layout."""


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tag(digest: str) -> str:
    algorithm, hex_part = digest.split(":")
    return f"{algorithm}-{hex_part}.sig"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def reference_sign(registry: Any, digest: str, private_key: Any, docker_reference: str) -> str:
    """Append a cosign signature layer for ``digest`` signed by ``private_key``.

    Returns the new ``.sig`` manifest digest. Works with any ``Registry``.
    """
    payload = (PAYLOAD_TEMPLATE % (docker_reference, digest)).encode()
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        raw = private_key.sign(payload, ec.ECDSA(hashes.SHA256()))
    elif isinstance(private_key, rsa.RSAPrivateKey):
        raw = private_key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    else:
        raw = private_key.sign(payload)
    layer = {"mediaType": LAYER_TYPE, "size": len(payload), "digest": _digest(payload),
             "annotations": {SIG_ANNOTATION: base64.b64encode(raw).decode()}}
    registry.put_blob(payload)
    layers = []
    if registry.resolve(_tag(digest)) is not None:
        layers = json.loads(registry.get_manifest(_tag(digest)).data)["layers"]
    layers.append(layer)
    diff_ids = [entry["digest"] for entry in layers]
    config = _json({"architecture": "", "created": "0001-01-01T00:00:00Z",
                    "history": [{"created": "0001-01-01T00:00:00Z"} for _ in diff_ids],
                    "os": "", "rootfs": {"type": "layers", "diff_ids": diff_ids},
                    "config": {}})
    registry.put_blob(config)
    manifest = _json({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": _digest(config)},
        "layers": layers,
    })
    registry.put_manifest(_tag(digest), Manifest(_digest(manifest), MANIFEST_TYPE, manifest))
    return _digest(manifest)


def generate_key(kind: str) -> Any:
    """A fresh private key: ``ecdsa`` (P-256), ``rsa`` (2048) or ``ed25519``."""
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def write_key_pair(
    directory: Path, kind: str = "ecdsa", password: bytes | None = None, name: str = "cosign"
) -> tuple[Path, Path, Any]:
    """Write ``<name>.key`` (PKCS#8 PEM, encrypted if ``password``) and ``<name>.pub``.

    Returns (private key path, public key path, private key object).
    """
    key = generate_key(kind)
    encryption: Any = (serialization.BestAvailableEncryption(password) if password
                       else serialization.NoEncryption())
    private = directory / f"{name}.key"
    public = directory / f"{name}.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8, encryption))
    public.write_bytes(public_pem(key))
    return private, public, key


def public_pem(private_key: Any) -> bytes:
    """The PEM SubjectPublicKeyInfo of a private key's public half."""
    return bytes(private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise CosignFormatError(message)


def _load_public(pem: bytes) -> Any:
    return serialization.load_pem_public_key(pem)


def _signature_ok(public_key: Any, signature: bytes, payload: bytes) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, payload)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def reference_verify(registry: Any, digest: str, public_key_pem: bytes) -> list[int]:
    """Check the ``.sig`` manifest of ``digest`` is exactly cosign's layout.

    Returns:
        Indices of layers whose signature verifies with ``public_key_pem`` over a
        payload for ``digest``.

    Raises:
        CosignFormatError: any deviation from the layout.
    """
    stored = registry.get_manifest(_tag(digest))
    _check(stored.media_type == MANIFEST_TYPE, f"manifest media type {stored.media_type}")
    _check(_digest(stored.data) == stored.digest, "manifest digest mismatch")
    doc = json.loads(stored.data)
    _check(stored.data == _json(doc), "manifest is not compact JSON")
    _check(list(doc) == ["schemaVersion", "mediaType", "config", "layers"],
           f"manifest keys {list(doc)}")
    _check(doc["schemaVersion"] == 2 and doc["mediaType"] == MANIFEST_TYPE, "manifest header")
    layers = doc["layers"]
    _check_config(registry, doc["config"], [layer["digest"] for layer in layers])
    public_key = _load_public(public_key_pem)
    return [i for i, layer in enumerate(layers)
            if _check_layer(registry, layer, digest, public_key)]


def _check_config(registry: Any, descriptor: dict[str, Any], diff_ids: list[str]) -> None:
    _check(list(descriptor) == ["mediaType", "size", "digest"], f"config keys {list(descriptor)}")
    _check(descriptor["mediaType"] == CONFIG_TYPE, f"config media type {descriptor['mediaType']}")
    blob = registry.get_blob(descriptor["digest"])
    _check(len(blob) == descriptor["size"] and _digest(blob) == descriptor["digest"],
           "config size/digest")
    config = json.loads(blob)
    _check(config.get("architecture") == "" and config.get("os") == "", "config platform")
    _check(config.get("config") == {}, "config.config must be {}")
    _check(config.get("rootfs") == {"type": "layers", "diff_ids": diff_ids},
           f"rootfs {config.get('rootfs')} does not list the layers {diff_ids}")


def _check_layer(registry: Any, layer: dict[str, Any], digest: str, public_key: Any) -> bool:
    _check(list(layer) == ["mediaType", "size", "digest", "annotations"],
           f"layer keys {list(layer)}")
    _check(layer["mediaType"] == LAYER_TYPE, f"layer media type {layer['mediaType']}")
    encoded = layer["annotations"][SIG_ANNOTATION]
    _check(bool(STD_BASE64.match(encoded)), "signature is not standard base64")
    payload = registry.get_blob(layer["digest"])
    _check(len(payload) == layer["size"] and _digest(payload) == layer["digest"],
           "payload size/digest")
    reference = json.loads(payload)["critical"]["identity"]["docker-reference"]
    signed_digest = json.loads(payload)["critical"]["image"]["docker-manifest-digest"]
    _check(payload == (PAYLOAD_TEMPLATE % (reference, signed_digest)).encode(),
           f"payload is not the canonical simple-signing form: {payload!r}")
    if signed_digest != digest:
        return False
    return _signature_ok(public_key, base64.b64decode(encoded), payload)

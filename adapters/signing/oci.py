"""Small OCI helpers shared by the signing adapters: descriptors and manifests."""

from __future__ import annotations

import json
from typing import Any

from floe_ledger.domain.model.errors import IntegrityError
from floe_ledger.domain.model.oci import OCI_EMPTY, Manifest, sha256_digest

EMPTY_CONFIG = b"{}"
EMPTY_DESCRIPTOR: dict[str, Any] = {
    "mediaType": OCI_EMPTY,
    "digest": sha256_digest(EMPTY_CONFIG),
    "size": 2,
    "data": "e30=",
}


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    """An OCI descriptor for ``data`` in go-containerregistry's key order."""
    out: dict[str, Any] = {
        "mediaType": media_type, "size": len(data), "digest": sha256_digest(data)
    }
    out.update(extra)
    return out


def manifest_of(data: bytes, media_type: str) -> Manifest:
    """A :class:`Manifest` for ``data`` with its computed digest."""
    return Manifest(digest=sha256_digest(data), media_type=media_type, data=data)


def verified_manifest_json(manifest: Manifest) -> dict[str, Any]:
    """The manifest's JSON object, after checking its bytes against its digest.

    Raises:
        IntegrityError: the bytes do not hash to the digest, or are not a JSON object.
    """
    actual = sha256_digest(manifest.data)
    if manifest.digest != actual:
        raise IntegrityError(
            f"manifest bytes hash to {actual}, not {manifest.digest}",
            hint="the registry returned content that does not match its digest",
        )
    try:
        value = json.loads(manifest.data)
    except ValueError:
        raise IntegrityError(f"manifest {manifest.digest} is not JSON") from None
    if not isinstance(value, dict):
        raise IntegrityError(f"manifest {manifest.digest} is not a JSON object")
    return value


def layers_of(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's layer descriptors.

    Raises:
        IntegrityError: ``layers`` is not a list of JSON objects.
    """
    layers = manifest.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
        raise IntegrityError("manifest layers are not a list of descriptors")
    return layers

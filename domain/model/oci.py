"""OCI values: media types, digests, content descriptors and manifests as the registry stores them.

The two JSON encoders differ on purpose, and signatures depend on their bytes: records and
registry indexes use :func:`sorted_json` (deterministic whatever order a dict was built in);
cosign payloads and signature manifests use :func:`ordered_json` (insertion order, as Go's
encoder writes structs, so the bytes match what cosign itself would sign).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)


def sha256_digest(data: bytes) -> str:
    """The OCI digest (``sha256:<hex>``) of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sorted_json(value: Any) -> bytes:
    """Compact JSON bytes with keys sorted: no whitespace, UTF-8, not ASCII-escaped."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ordered_json(value: Any) -> bytes:
    """Compact JSON bytes with keys in insertion order: no whitespace, UTF-8, not ASCII-escaped."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry stores it: the bytes are the identity."""

    digest: str
    media_type: str
    data: bytes

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.data))

"""An in-memory fake of one OCI repository, implementing the ``Registry`` protocol.

Faithful to distribution 2.8 where it matters to the signing code:

* manifests are stored byte for byte; their digest is the sha256 of the bytes;
* a tag points at a digest; PUT by tag or by digest;
* a manifest naming a blob (config, layers) or child manifest that is missing is
  refused (the registry answers ``MANIFEST_BLOB_UNKNOWN``: NotFoundError);
* blobs are content-addressed and checked against their digest when read;
* no referrers API: referrers are listed in the fallback index at tag
  ``sha256-<hex of subject>``, entries other tools wrote are kept.

``calls`` counts every protocol call by method name, so tests can prove that a
cached verification does not touch the registry. ``corrupt_blob`` and
``corrupt_manifest`` simulate a registry returning bytes that do not match.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, BinaryIO

from floe_ledger.domain.model.blobs import BlobOpener, BlobStream
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError, UsageError
from floe_ledger.domain.model.oci import (
    MANIFEST_MEDIA_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    sha256_digest,
)
from floe_ledger.domain.model.values import DIGEST_RE, TAG_RE


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class MemoryRegistry:
    """One repository held in dictionaries."""

    def __init__(self, name: str = "registry.test/floe/app") -> None:
        self.name = name
        self.manifests: dict[str, tuple[str, bytes]] = {}
        self.tags: dict[str, str] = {}
        self.blobs: dict[str, bytes] = {}
        self.calls: Counter[str] = Counter()

    # -- protocol -----------------------------------------------------------------

    @property
    def uri(self) -> str:
        return f"memory://{self.name}"

    def resolve(self, reference: str) -> Descriptor | None:
        self.calls["resolve"] += 1
        digest = self._digest_of(reference)
        if digest is None:
            return None
        media_type, data = self.manifests[digest]
        return Descriptor(media_type, digest, len(data))

    def get_manifest(self, reference: str) -> Manifest:
        self.calls["get_manifest"] += 1
        digest = self._digest_of(reference)
        if digest is None:
            raise NotFoundError(f"manifest {reference} not found in {self.uri}")
        media_type, data = self.manifests[digest]
        return Manifest(digest=digest, media_type=media_type, data=data)

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        self.calls["put_manifest"] += 1
        self._check_reference(reference)
        if manifest.media_type not in MANIFEST_MEDIA_TYPES:
            raise IntegrityError(f"MANIFEST_INVALID: media type {manifest.media_type!r}")
        actual = sha256_digest(manifest.data)
        if DIGEST_RE.match(reference) and reference != actual:
            raise IntegrityError(f"DIGEST_INVALID: {reference} is not the digest of the bytes")
        self._check_children(manifest.data)
        self.manifests[actual] = (manifest.media_type, manifest.data)
        if not DIGEST_RE.match(reference):
            self.tags[reference] = actual
        if manifest.digest != actual:
            raise IntegrityError(f"registry stored {actual}, not {manifest.digest}")
        return actual

    def delete_tag(self, tag: str) -> bool:
        """Like a registry that implements the spec's tag deletion: only the tag goes."""
        self.calls["delete_tag"] += 1
        self._check_reference(tag)
        return self.tags.pop(tag, None) is not None

    def list_tags(self) -> list[str]:
        self.calls["list_tags"] += 1
        return list(self.tags)

    def get_blob(self, digest: str) -> bytes:
        self.calls["get_blob"] += 1
        if digest not in self.blobs:
            raise NotFoundError(f"blob {digest} not found in {self.uri}")
        data = self.blobs[digest]
        if sha256_digest(data) != digest:
            raise IntegrityError(f"blob content does not match {digest}")
        return data

    def copy_blob(self, digest: str, size: int, out: BinaryIO) -> None:
        data = self.get_blob(digest)
        if len(data) != size:
            raise IntegrityError(f"blob {digest} is {len(data)} bytes, not {size}", hint="")
        out.write(data)

    def open_blob(self, digest: str, size: int) -> BlobStream:
        self.calls["open_blob"] += 1
        if digest not in self.blobs:
            raise NotFoundError(f"blob {digest} not found in {self.uri}")
        return BlobStream.of_bytes(self.blobs[digest], digest, what=f"blob {digest}")

    def put_blob_from(self, digest: str, size: int, opener: BlobOpener,
                      media_type: str = "application/octet-stream") -> str:
        self.calls["put_blob_from"] += 1
        if digest not in self.blobs:
            with opener() as chunks:
                data = b"".join(chunks)
            if chunks.digest != digest or len(data) != size:
                raise IntegrityError(f"stream of {chunks.digest} is not {digest}")
            self.blobs[digest] = data
        return digest

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        self.calls["put_blob"] += 1
        digest = sha256_digest(data)
        self.blobs.setdefault(digest, data)
        return digest

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        self.calls["referrers"] += 1
        entries = self._index_entries(self._fallback_tag(digest))
        found = [_descriptor(e) for e in entries]
        return [d for d in found if artifact_type is None or d.artifact_type == artifact_type]

    def attach_referrer(self, subject: str, manifest: Manifest, artifact_type: str) -> None:
        self.calls["attach_referrer"] += 1
        self.put_manifest(manifest.digest, manifest)
        doc = json.loads(manifest.data)
        entry: dict[str, Any] = {
            "mediaType": manifest.media_type,
            "digest": manifest.digest,
            "size": len(manifest.data),
            "artifactType": artifact_type,
        }
        if doc.get("annotations"):
            entry["annotations"] = doc["annotations"]
        tag = self._fallback_tag(subject)
        entries = [e for e in self._index_entries(tag) if e.get("digest") in self.manifests]
        if not any(e.get("digest") == manifest.digest for e in entries):
            entries.append(entry)
        index = compact({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        self.put_manifest(tag, Manifest(sha256_digest(index), OCI_INDEX, index))

    def authenticated_user(self) -> str | None:
        return None

    def close(self) -> None:
        self.calls["close"] += 1

    # -- helpers for tests ----------------------------------------------------------

    def push_artifact(self, layers: list[bytes], tag: str | None = None,
                      layer_media_type: str = "application/octet-stream",
                      artifact_type: str = "application/vnd.floe.test.v1") -> Manifest:
        """Push an OCI artifact (empty config, these layers), optionally tagged."""
        return push_artifact(self, layers, tag, layer_media_type, artifact_type)

    def corrupt_blob(self, digest: str, data: bytes) -> None:
        """Make the stored bytes of ``digest`` differ from what it names."""
        self.blobs[digest] = data

    def corrupt_manifest(self, digest: str, data: bytes) -> None:
        """Make the stored manifest bytes of ``digest`` differ from what it names."""
        self.manifests[digest] = (self.manifests[digest][0], data)

    def retag(self, source: str, tag: str) -> str:
        """Promote by retagging: PUT the exact manifest bytes of ``source`` under ``tag``."""
        manifest = self.get_manifest(source)
        return self.put_manifest(tag, manifest)

    # -- internals -------------------------------------------------------------------

    def _digest_of(self, reference: str) -> str | None:
        digest = reference if DIGEST_RE.match(reference) else self.tags.get(reference)
        return digest if digest in self.manifests else None

    @staticmethod
    def _check_reference(reference: str) -> None:
        if not (DIGEST_RE.match(reference) or TAG_RE.match(reference)):
            raise UsageError(f"TAG_INVALID: {reference!r}")

    def _check_children(self, data: bytes) -> None:
        doc = json.loads(data)
        blobs = [doc.get("config"), *(doc.get("layers") or [])]
        for desc in blobs:
            if isinstance(desc, dict) and desc.get("digest") not in self.blobs:
                raise NotFoundError(f"MANIFEST_BLOB_UNKNOWN: {desc.get('digest')}")
        for desc in doc.get("manifests") or []:
            if desc.get("digest") not in self.manifests:
                raise NotFoundError(f"MANIFEST_UNKNOWN: {desc.get('digest')}")

    @staticmethod
    def _fallback_tag(digest: str) -> str:
        if not DIGEST_RE.match(digest):
            raise UsageError(f"not a sha256 digest: {digest!r}")
        return digest.replace(":", "-", 1)

    def _index_entries(self, tag: str) -> list[dict[str, Any]]:
        digest = self.tags.get(tag)
        if digest is None or digest not in self.manifests:
            return []
        entries = json.loads(self.manifests[digest][1]).get("manifests") or []
        return [e for e in entries if isinstance(e, dict)]


def _descriptor(entry: dict[str, Any]) -> Descriptor:
    return Descriptor(
        media_type=str(entry.get("mediaType", "")),
        digest=str(entry.get("digest", "")),
        size=int(entry.get("size", 0)),
        artifact_type=entry.get("artifactType"),
        annotations=dict(entry.get("annotations") or {}),
    )


def push_artifact(registry: Any, layers: list[bytes], tag: str | None = None,
                  layer_media_type: str = "application/octet-stream",
                  artifact_type: str = "application/vnd.floe.test.v1") -> Manifest:
    """Push a one-or-more-layer OCI artifact through any ``Registry``; return its manifest."""
    registry.put_blob(b"{}", "application/vnd.oci.empty.v1+json")
    descriptors = []
    for data in layers:
        registry.put_blob(data, layer_media_type)
        descriptors.append({"mediaType": layer_media_type, "digest": sha256_digest(data),
                            "size": len(data)})
    body = compact({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": sha256_digest(b"{}"), "size": 2},
        "layers": descriptors,
    })
    manifest = Manifest(sha256_digest(body), OCI_MANIFEST, body)
    registry.put_manifest(tag or manifest.digest, manifest)
    return manifest

"""The Registry port on an OCI image-layout directory (``oci-layout:./path``).

Layout::

    oci-layout               {"imageLayoutVersion":"1.0.0"}
    index.json               an image index; tags are entries annotated
                             org.opencontainers.image.ref.name
    blobs/sha256/<hex>       manifests and blobs, byte for byte
    index.json.lock          flock'ed while index.json is rewritten

index.json is replaced atomically (temp file + os.replace) under an exclusive
``fcntl.flock``, so concurrent processes never lose each other's tags. The
directory is created on the first write; reading a missing one finds nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from floe_ledger.adapters.registry._common import (
    REF_NAME,
    check_manifest_target,
    check_reference,
    check_sha256,
    check_tag_only,
    descriptor_from_json,
    is_digest,
    load_json,
    referrer_descriptor,
    sniff_media_type,
    verify_digest,
    verify_file,
)
from floe_ledger.adapters.registry._fallback import add_to_fallback, read_fallback
from floe_ledger.domain.model.blobs import BlobOpener, BlobStream
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError
from floe_ledger.domain.model.oci import OCI_INDEX, Descriptor, Manifest, sha256_digest

LAYOUT_FILE = "oci-layout"
LAYOUT_VERSION = b'{"imageLayoutVersion":"1.0.0"}'
LOCK_FILE = "index.json.lock"


class LayoutRegistry:
    """One repository stored as an OCI image-layout directory.

    Args:
        path: the layout directory (created on the first write).
    """

    def __init__(self, path: Path) -> None:
        self._root = Path(path)
        self._mutex = threading.RLock()
        self._depth = 0

    @property
    def uri(self) -> str:
        """``oci-layout:<path>``."""
        return f"oci-layout:{self._root}"

    @property
    def path(self) -> Path:
        """The layout directory."""
        return self._root

    def resolve(self, reference: str) -> Descriptor | None:
        """Descriptor of the manifest a tag or digest names, or None."""
        ref = check_reference(reference)
        for entry in reversed(self._entries()):
            if _names(entry, ref):
                found = descriptor_from_json(entry)
                return Descriptor(found.media_type, found.digest, found.size)
        if is_digest(ref) and self._blob_path(ref).is_file():
            data = self._blob_path(ref).read_bytes()
            return Descriptor(sniff_media_type(data), ref, len(data))
        return None

    def get_manifest(self, reference: str) -> Manifest:
        """The exact manifest bytes (checked). NotFoundError if absent."""
        found = self.resolve(reference)
        if found is None or not self._blob_path(found.digest).is_file():
            raise NotFoundError(
                f"manifest {reference} not found in {self.uri}",
                hint="check the tag or digest (floe status lists what exists)",
                details={"reference": reference, "repository": self.uri},
            )
        data = self._blob_path(found.digest).read_bytes()
        verify_digest(data, found.digest, f"manifest {reference} in {self.uri}")
        return Manifest(found.digest, found.media_type, data)

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        """Store the manifest bytes; for a tag, point the tag's index.json entry at it."""
        ref = check_manifest_target(reference, manifest)
        with self._locked():
            self._write_blob(manifest.digest, manifest.data)
            if not is_digest(ref):
                self._set_tag(ref, manifest)
        return manifest.digest

    def delete_tag(self, tag: str) -> bool:
        """Drop ``tag``'s entry from index.json (the manifest blob and other tags stay);
        False if there was none."""
        ref = check_tag_only(tag)
        with self._locked():
            doc = self._read_index()
            entries = [e for e in doc.get("manifests") or []
                       if not isinstance(e, dict) or not _names(e, ref)]
            if len(entries) == len(doc.get("manifests") or []):
                return False
            doc["manifests"] = entries
            _atomic_write(self._root / "index.json", [_json(doc)])
        return True

    def list_tags(self) -> list[str]:
        """Every tag in index.json, in order ([] if the directory does not exist)."""
        tags = [(e.get("annotations") or {}).get(REF_NAME) for e in self._entries()]
        return list(dict.fromkeys(t for t in tags if isinstance(t, str)))

    def has_blob(self, digest: str) -> bool:
        """Whether the blob is stored."""
        return self._blob_path(digest).is_file()

    def get_blob(self, digest: str) -> bytes:
        """The blob's bytes, checked against ``digest``. NotFoundError if absent."""
        try:
            data = self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"blob {digest} not found in {self.uri}", hint="push the artifact again"
            ) from None
        verify_digest(data, digest, f"blob in {self.uri}")
        return data

    def copy_blob(self, digest: str, size: int, out: BinaryIO) -> None:
        """Copy the blob into ``out`` in chunks; IntegrityError unless it is ``size`` bytes
        hashing to ``digest``. NotFoundError if absent."""
        blob = self._open_blob_file(digest)
        with blob:
            out.seek(0)
            out.truncate()
            while chunk := blob.read(min(1024 * 1024, size - out.tell() + 1)):
                out.write(chunk)
                if out.tell() > size:
                    break
        verify_file(out, digest, size, f"blob in {self.uri}")

    def open_blob(self, digest: str, size: int) -> BlobStream:
        """The blob as a stream of 1 MiB chunks, checked while read. NotFoundError if
        absent; IntegrityError if its bytes are not ``size`` bytes hashing to ``digest``."""
        blob = self._open_blob_file(digest)
        return BlobStream(digest, size, iter(lambda: blob.read(1024 * 1024), b""),
                          what=f"blob {digest} in {self.uri}", close=blob.close)

    def _open_blob_file(self, digest: str) -> BinaryIO:
        try:
            return self._blob_path(digest).open("rb")
        except FileNotFoundError:
            raise NotFoundError(
                f"blob {digest} not found in {self.uri}", hint="push the artifact again"
            ) from None

    def put_blob_from(self, digest: str, size: int, opener: BlobOpener,
                      media_type: str = "application/octet-stream") -> str:
        """Store the blob ``opener`` streams (idempotent): into a temporary file renamed
        onto its digest only once every byte matched (IntegrityError otherwise, and the
        temporary file is removed)."""
        path = self._blob_path(digest)
        if not path.is_file():
            self._ensure_layout()
            with opener() as chunks:
                if chunks.digest != digest or chunks.size != size:
                    raise IntegrityError(f"{chunks.what} is not blob {digest} ({size} bytes)",
                                         hint="a caller mixed up two blobs")
                _atomic_write(path, chunks)
        return digest

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        """Store a blob (idempotent) and return its digest."""
        digest = sha256_digest(data)
        self._ensure_layout()
        self._write_blob(digest, data)
        return digest

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """Referrers listed in the ``sha256-<hex>`` fallback index of ``digest``."""
        return read_fallback(self, check_sha256(digest), artifact_type)

    def attach_referrer(self, subject: str, manifest: Manifest, artifact_type: str) -> None:
        """Store a referrer by digest and add it to the subject's fallback index."""
        entry = referrer_descriptor(manifest, artifact_type, check_sha256(subject))
        with self._locked():
            self.put_manifest(manifest.digest, manifest)
            add_to_fallback(self, subject, entry)

    def authenticated_user(self) -> str | None:
        """A directory authenticates nobody."""
        return None

    def close(self) -> None:
        """Nothing to release."""

    # -- storage -------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        return self._root / "blobs" / "sha256" / check_sha256(digest).split(":", 1)[1]

    def _read_index(self) -> dict[str, Any]:
        try:
            data = (self._root / "index.json").read_bytes()
        except FileNotFoundError:
            return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        return load_json(data, f"{self._root / 'index.json'}")

    def _entries(self) -> list[dict[str, Any]]:
        entries = self._read_index().get("manifests") or []
        return [e for e in entries if isinstance(e, dict)]

    def _set_tag(self, tag: str, manifest: Manifest) -> None:
        doc = self._read_index()
        entries = [
            e for e in doc.get("manifests") or []
            if (e.get("annotations") or {}).get(REF_NAME) != tag
        ]
        entries.append({
            "mediaType": manifest.media_type, "digest": manifest.digest,
            "size": len(manifest.data), "annotations": {REF_NAME: tag},
        })
        doc.setdefault("schemaVersion", 2)
        doc["manifests"] = entries
        _atomic_write(self._root / "index.json", [_json(doc)])

    def _write_blob(self, digest: str, data: bytes) -> None:
        path = self._blob_path(digest)
        if not path.is_file():
            _atomic_write(path, [data])

    def _ensure_layout(self) -> None:
        (self._root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        marker = self._root / LAYOUT_FILE
        if not marker.is_file():
            _atomic_write(marker, [LAYOUT_VERSION])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive lock on index.json across processes; re-entrant in this instance."""
        with self._mutex:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._ensure_layout()
            with open(self._root / LOCK_FILE, "a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _names(entry: dict[str, Any], reference: str) -> bool:
    """Whether an index.json entry is the manifest ``reference`` (tag or digest) names."""
    if is_digest(reference):
        return entry.get("digest") == reference
    return (entry.get("annotations") or {}).get(REF_NAME) == reference


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2).encode() + b"\n"


def _atomic_write(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to a temp file beside ``path``, fsync it, then os.replace (the temp
    file is removed if ``chunks`` raise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


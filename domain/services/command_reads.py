"""The registry as one command sees it: what the command read or wrote is not asked again.

    registry = CommandReads(self.registry, fetch=["v1.2.3-dev"])  # one per command
    registry.resolve("v1.2.3-dev")      # GET (not HEAD): the manifest is read next anyway
    registry.get_manifest(digest)       # no request: read above
    registry.referrers(digest)          # the listing, once in this command
    registry.put_blob(b"{}")            # no request if a manifest seen names that blob

A remote registry costs a round trip per request (issue 15). Within one command:

- content named by a digest never changes: a manifest read or stored is kept, and so are the
  blobs that manifest names (a registry stores a manifest only once its blobs are there);
- a subject's referrers are listed once: the reconciliation, the policy gate and the record
  writer see the same listing, as they would a moment apart; it is listed again after this
  command attached a referrer or wrote a manifest by digest or a referrers index;
- tags move: they are always asked. A tag in ``fetch`` is read with its manifest (one GET
  instead of a HEAD now and a GET later); if that manifest cannot be trusted, the refusal
  comes where the manifest would have been read on its own.

Pure bookkeeping over the :class:`Registry` port; it does no I/O of its own.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import BinaryIO

from floe_ledger.domain.model.blobs import BlobOpener, BlobStream
from floe_ledger.domain.model.errors import ExitCode, FloeError, NotFoundError
from floe_ledger.domain.model.oci import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    sha256_digest,
)
from floe_ledger.domain.model.values import DIGEST_RE
from floe_ledger.domain.services.ports import Registry


class CommandReads:
    """The :class:`Registry` port over ``inner``, remembering what this command learned."""

    def __init__(self, inner: Registry, *, fetch: Collection[str] = ()) -> None:
        self.inner = inner
        self._fetch = frozenset(fetch)
        self._manifests: dict[str, Manifest] = {}
        self._descriptors: dict[str, Descriptor] = {}
        self._blobs: set[str] = set()
        self._listed: dict[str, list[Descriptor]] = {}
        self._untrusted: dict[str, FloeError] = {}  # digest -> why its manifest was refused

    @property
    def uri(self) -> str:
        return self.inner.uri

    # ---- manifests ---------------------------------------------------------------------------

    def resolve(self, reference: str) -> Descriptor | None:
        known = self._descriptors.get(reference)
        if known is not None:
            return known
        if reference in self._fetch:
            return self._fetched(reference)
        found = self.inner.resolve(reference)
        if found is not None and DIGEST_RE.match(reference):
            self._descriptors[reference] = found
        return found

    def _fetched(self, tag: str) -> Descriptor | None:
        """What ``tag`` names, read with its manifest. A manifest the registry answers that
        cannot be trusted (exit 14, a refusal) does not stop the resolution: the tag is then
        resolved on its own (HEAD), and the error is raised when that manifest is read, as
        if it had been read on its own: at the same step, with the same outcome."""
        try:
            return self.get_manifest(tag).descriptor
        except NotFoundError:
            return None
        except FloeError as err:
            if err.exit_code == ExitCode.REGISTRY_UNAVAILABLE:
                raise
            found = self.inner.resolve(tag)
            if found is not None:
                self._untrusted[found.digest] = err
            return found

    def get_manifest(self, reference: str) -> Manifest:
        known = self._manifests.get(reference)
        if known is not None:
            return known
        if reference in self._untrusted:
            raise self._untrusted[reference]
        manifest = self.inner.get_manifest(reference)
        self._learn(manifest)
        return manifest

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        digest = self.inner.put_manifest(reference, manifest)
        self._learn(manifest)
        if DIGEST_RE.match(reference) or reference.startswith("sha256-"):
            self._listed.clear()  # a referrer, or a referrers index, may have changed
        return digest

    def delete_tag(self, tag: str) -> bool:
        self._listed.clear()
        return self.inner.delete_tag(tag)

    def list_tags(self) -> list[str]:
        return self.inner.list_tags()

    # ---- blobs -------------------------------------------------------------------------------

    def get_blob(self, digest: str) -> bytes:
        return self.inner.get_blob(digest)

    def copy_blob(self, digest: str, size: int, out: BinaryIO) -> None:
        self.inner.copy_blob(digest, size, out)

    def open_blob(self, digest: str, size: int) -> BlobStream:
        return self.inner.open_blob(digest, size)

    def put_blob_from(self, digest: str, size: int, opener: BlobOpener,
                      media_type: str = "application/octet-stream") -> str:
        return self.inner.put_blob_from(digest, size, opener, media_type)

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        digest = sha256_digest(data)
        if digest in self._blobs:
            return digest
        stored = self.inner.put_blob(data, media_type)
        self._blobs.add(stored)
        return stored

    # ---- referrers ---------------------------------------------------------------------------

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        listed = self._listed.get(digest)
        if listed is None:
            listed = self._listed[digest] = self.inner.referrers(digest)
        if artifact_type is None:
            return list(listed)
        return [d for d in listed if d.artifact_type == artifact_type]

    def attach_referrer(self, subject: str, manifest: Manifest, artifact_type: str) -> None:
        self.inner.attach_referrer(subject, manifest, artifact_type)
        self._learn(manifest)
        self._listed.pop(subject, None)

    def authenticated_user(self) -> str | None:
        return self.inner.authenticated_user()

    def close(self) -> None:
        """Nothing to close: the registry belongs to whoever made it."""

    # ---- what a manifest tells -------------------------------------------------------------

    def _learn(self, manifest: Manifest) -> None:
        """Keep ``manifest`` by its digest, and the blobs it names as present."""
        self._manifests[manifest.digest] = manifest
        self._descriptors[manifest.digest] = manifest.descriptor
        if manifest.media_type not in (OCI_MANIFEST, DOCKER_MANIFEST):
            return
        try:
            doc = json.loads(manifest.data)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        layers = doc.get("layers")
        named = [doc.get("config"), *(layers if isinstance(layers, list) else [])]
        self._blobs.update(d["digest"] for d in named
                           if isinstance(d, dict) and isinstance(d.get("digest"), str))

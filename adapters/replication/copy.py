"""Copy an artifact between registries byte for byte, with its signatures and referrers.

    copy_artifact(primary, replica, "sha256:ab...")        # blobs, child manifests, manifest
    companions = find_companions(primary, "sha256:ab...")  # .sig/.att/.sbom tags, referrers
    copy_companions(primary, replica, "sha256:ab...", companions=companions)

Blobs the destination lacks are mounted when both repositories live on the same
registry host (``POST ?mount=&from=``), else streamed from one to the other, never whole
in memory (``open_blob`` → ``put_blob_from``: the digest is checked while the bytes pass,
and a blob that does not match is never stored under it), up to
:data:`BLOB_CONCURRENCY` blobs of a manifest at once (issue 15 item 5). An index's
children are copied before the index, because a registry refuses an index naming a missing
manifest. Referrers are attached through
the destination's own ``attach_referrer``, so entries already in its fallback index
are kept. Only ``sha256`` digests are supported (as everywhere in floe).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from floe_ledger.adapters.registry._common import (
    check_sha256,
    fallback_tag,
    load_json,
)
from floe_ledger.adapters.registry.reference import RegistryLocation
from floe_ledger.adapters.system.parallel import run_all
from floe_ledger.domain.model.errors import ConfigError, IntegrityError, TagExistsError
from floe_ledger.domain.model.oci import Descriptor, Manifest, sha256_digest, sorted_json
from floe_ledger.domain.services.ports import Registry

COMPANION_SUFFIXES = (".sig", ".att", ".sbom")  # cosign's tag-based attachments
MAX_DEPTH = 8  # index nesting
BLOB_CONCURRENCY = 4
"""Blobs of one manifest copied at once (each holds a chunk or two in memory, and one
connection to each registry)."""
_STATS = threading.Lock()


@runtime_checkable
class BlobProbe(Protocol):
    """A registry that can say whether it holds a blob (both built-in adapters can)."""

    def has_blob(self, digest: str) -> bool: ...


@runtime_checkable
class BlobMount(Protocol):
    """A registry that can mount a blob from another repository of the same host."""

    def mount_blob(self, digest: str, from_repository: str) -> bool: ...


@dataclass
class CopyStats:
    """What a copy did (for logs, tests and timings)."""

    manifests_copied: int = 0
    manifests_present: int = 0
    blobs_uploaded: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    bytes_uploaded: int = 0
    referrers_attached: int = 0
    tags_written: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Companions:
    """What travels with an artifact, as found in the source repository.

    Attributes:
        subject: the artifact's digest.
        tags: companion tag → digest: ``sha256-<hex>.sig|.att|.sbom``.
        referrers: the artifact's referrers (API or ``sha256-<hex>`` fallback index),
            floe's records among them (they carry no tag of their own).
    """

    subject: str
    tags: dict[str, str]
    referrers: tuple[Descriptor, ...]


def mount_source(source: Registry, dest: Registry) -> str | None:
    """The repository to mount blobs from: the source's, when both are distinct
    repositories on the same registry host and the destination can mount; else None."""
    if not isinstance(dest, BlobMount):
        return None
    try:
        src = RegistryLocation.parse(source.uri, base_dir=Path("/"))
        dst = RegistryLocation.parse(dest.uri, base_dir=Path("/"))
    except ConfigError:
        return None
    if src.is_layout or dst.is_layout or src.host != dst.host:
        return None
    return src.repository if src.repository != dst.repository else None


def copy_artifact(
    source: Registry, dest: Registry, digest: str, *, same_host_repo: str | None = None,
    stats: CopyStats | None = None,
) -> CopyStats:
    """Make ``dest`` hold manifest ``digest`` byte for byte (with everything it names).

    Args:
        source: where the artifact is.
        dest: where it must be.
        digest: the manifest digest (an image manifest or an index).
        same_host_repo: repository on ``dest``'s host to mount blobs from; by default
            the source's repository when both are on the same host.
        stats: counters to add to (a new one if None).

    Returns:
        The counters.

    Raises:
        NotFoundError: the source lacks the manifest or a blob.
        IntegrityError: a digest came back different from what was asked.
        RegistryUnavailableError / UnauthorizedError: from either registry.
    """
    stats = stats if stats is not None else CopyStats()
    _copy_and_read(source, dest, check_sha256(digest), same_host_repo, stats)
    return stats


def _copy_and_read(source: Registry, dest: Registry, digest: str, same_host_repo: str | None,
                   stats: CopyStats) -> Manifest:
    """:func:`copy_artifact`, returning the manifest (read once, from either side)."""
    mount_from = same_host_repo if same_host_repo is not None else mount_source(source, dest)
    fetched = _copy_manifest(source, dest, digest, mount_from, stats, 0)
    return fetched if fetched is not None else source.get_manifest(digest)


def _copy_manifest(source: Registry, dest: Registry, digest: str, mount_from: str | None,
                   stats: CopyStats, depth: int) -> Manifest | None:
    """Copy one manifest after what it names; None if ``dest`` already had it."""
    if depth > MAX_DEPTH:
        raise IntegrityError(f"index nesting deeper than {MAX_DEPTH} at {digest}",
                             hint="the artifact is not a well-formed OCI index")
    if dest.resolve(digest) is not None:
        stats.manifests_present += 1
        return None
    manifest = source.get_manifest(digest)
    doc = load_json(manifest.data, f"manifest {digest} in {source.uri}")
    for child in _descriptors(doc.get("manifests")):
        _copy_manifest(source, dest, child["digest"], mount_from, stats, depth + 1)
    blobs = [*_descriptors([doc.get("config")]), *_descriptors(doc.get("layers"))]
    run_all([lambda b=b: _copy_blob(source, dest, b, mount_from, stats)  # type: ignore[misc]
             for b in blobs], BLOB_CONCURRENCY)
    stored = dest.put_manifest(digest, manifest)
    if stored != digest:
        raise IntegrityError(f"{dest.uri} stored manifest {digest} as {stored}",
                             hint="the replica rewrote the manifest; it cannot hold this artifact")
    stats.manifests_copied += 1
    return manifest


def _descriptors(value: Any) -> list[dict[str, Any]]:
    """The descriptor objects of a list (entries without a sha256 digest are skipped)."""
    if not isinstance(value, list):
        return []
    return [d for d in value if isinstance(d, dict) and str(d.get("digest", "")).startswith(
        "sha256:") and not _foreign(d)]


def _foreign(desc: dict[str, Any]) -> bool:
    """Non-distributable layers live elsewhere (``urls``); registries never hold them."""
    kind = str(desc.get("mediaType", ""))
    return bool(desc.get("urls")) and ("foreign" in kind or "nondistributable" in kind)


def _copy_blob(source: Registry, dest: Registry, desc: dict[str, Any], mount_from: str | None,
               stats: CopyStats) -> None:
    digest = check_sha256(str(desc["digest"]))
    size = desc.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise IntegrityError(f"blob {digest} in {source.uri} has no valid size",
                             hint="the manifest is malformed; inspect it in the registry")
    if isinstance(dest, BlobProbe) and dest.has_blob(digest):
        _count(stats, "blobs_present")
        return
    if mount_from and isinstance(dest, BlobMount) and dest.mount_blob(digest, mount_from):
        _count(stats, "blobs_mounted")
        return
    stored = dest.put_blob_from(digest, size, lambda: source.open_blob(digest, size),
                                str(desc.get("mediaType") or "application/octet-stream"))
    if stored != digest:
        raise IntegrityError(f"{dest.uri} stored blob {digest} as {stored}",
                             hint="the replica changed the blob")
    _count(stats, "blobs_uploaded")
    _count(stats, "bytes_uploaded", size)


def _count(stats: CopyStats, name: str, n: int = 1) -> None:
    with _STATS:  # blobs are copied on several threads
        setattr(stats, name, getattr(stats, name) + n)


def find_companions(source: Registry, digest: str) -> Companions:
    """The signature/attestation tags and live referrers (floe records included) of
    ``digest``."""
    base = fallback_tag(digest)
    tags: dict[str, str] = {}
    for suffix in COMPANION_SUFFIXES:
        found = source.resolve(base + suffix)
        if found is not None:
            tags[base + suffix] = found.digest
    # an index entry whose manifest is gone (garbage-collected) cannot travel: skip it
    referrers = tuple(r for r in source.referrers(digest) if source.resolve(r.digest))
    return Companions(digest, tags, referrers)


def copy_companions(
    source: Registry, dest: Registry, digest: str, *, companions: Companions | None = None,
    same_host_repo: str | None = None, stats: CopyStats | None = None,
) -> CopyStats:
    """Copy the signatures, attestations and referrers of ``digest`` into ``dest``.

    Referrers missing from ``dest`` are copied (with their blobs) and attached with
    ``dest.attach_referrer``, which keeps the entries already in its fallback index.
    Companion tags are then written; a signature tag already on ``dest`` that holds
    signatures the source lacks is merged (union of layers), never overwritten.

    Raises:
        TagExistsError: a companion tag on ``dest`` that is not a signature names another
        manifest; and whatever :func:`copy_artifact` raises.
    """
    stats = stats if stats is not None else CopyStats()
    found = companions if companions is not None else find_companions(source, digest)
    have = {d.digest for d in dest.referrers(digest)} if found.referrers else set()
    for ref in found.referrers:
        if ref.digest in have:
            continue
        manifest = _copy_and_read(source, dest, ref.digest, same_host_repo, stats)
        dest.attach_referrer(digest, manifest, ref.artifact_type or _artifact_type(manifest))
        stats.referrers_attached += 1
    for tag, tagged in found.tags.items():
        if _put_companion_tag(source, dest, tag, tagged, same_host_repo, stats):
            stats.tags_written.append(tag)
    return stats


def _artifact_type(manifest: Manifest) -> str:
    """A manifest's ``artifactType``, else its config media type (the OCI 1.1 rule)."""
    doc = load_json(manifest.data, f"referrer {manifest.digest}")
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    return str(doc.get("artifactType") or (config or {}).get("mediaType") or manifest.media_type)


def _put_companion_tag(source: Registry, dest: Registry, tag: str, digest: str,
                       same_host_repo: str | None, stats: CopyStats) -> bool:
    """Point ``tag`` on ``dest`` at ``digest`` (or a signature merge); True if written."""
    current = dest.resolve(tag)
    if current is not None and current.digest == digest:
        return False
    manifest = _copy_and_read(source, dest, digest, same_host_repo, stats)
    if current is not None:
        if not tag.endswith(COMPANION_SUFFIXES):
            raise TagExistsError(
                f"{tag} on {dest.uri} names {current.digest}, the source's names {digest}",
                hint="inspect both registries before re-pointing it")
        merged = merge_signatures(manifest, dest.get_manifest(current.digest))
        if merged is None:
            return False
        manifest = merged
    dest.put_manifest(tag, manifest)
    return True


def merge_signatures(source: Manifest, current: Manifest) -> Manifest | None:
    """The signature manifest to store where ``current`` is and ``source`` should be.

    Returns:
        None if ``current`` already holds every layer of ``source``; ``source`` if
        ``current`` holds nothing else; else ``source`` with ``current``'s extra
        layers appended (no signature is ever dropped).
    """
    src_layers = _layers(source)
    cur_layers = _layers(current)
    have = {str(layer.get("digest")) for layer in cur_layers}
    if all(str(layer.get("digest")) in have for layer in src_layers):
        return None
    wanted = {str(layer.get("digest")) for layer in src_layers}
    extra = [layer for layer in cur_layers if str(layer.get("digest")) not in wanted]
    if not extra:
        return source
    doc = json.loads(source.data)
    doc["layers"] = [*src_layers, *extra]
    data = sorted_json(doc)
    return Manifest(sha256_digest(data), source.media_type, data)


def _layers(manifest: Manifest) -> list[dict[str, Any]]:
    layers = load_json(manifest.data, f"manifest {manifest.digest}").get("layers")
    return [x for x in layers if isinstance(x, dict)] if isinstance(layers, list) else []


"""The OCI 1.1 referrers fallback: an image index at tag ``sha256-<hex of subject>``.

Registries without the referrers API (distribution 2.8, image-layout directories)
list a subject's referrers in that index. Other tools (cosign v3, ORAS) write
there too, so entries are never dropped unless their manifest is gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from floe_ledger.adapters.registry._common import (
    descriptor_to_json,
    fallback_tag,
    filter_referrers,
    index_entries,
    load_json,
)
from floe_ledger.domain.model.errors import ConcurrencyError, NotFoundError
from floe_ledger.domain.model.oci import OCI_INDEX, Descriptor, Manifest, sha256_digest, sorted_json
from floe_ledger.domain.model.values import DIGEST_RE
from floe_ledger.domain.services.ports import Registry

ATTEMPTS = 3


def read_fallback(registry: Registry, subject: str, artifact_type: str | None) -> list[Descriptor]:
    """Referrers of ``subject`` listed in its fallback index (empty if there is none).

    Args:
        registry: the repository to read.
        subject: the subject manifest digest.
        artifact_type: keep only entries of this artifact type, if given.

    Returns:
        The descriptors, in index order.
    """
    tag = fallback_tag(subject)
    try:
        manifest = registry.get_manifest(tag)
    except NotFoundError:
        return []
    return filter_referrers(index_entries(manifest.data, f"fallback index {tag}"), artifact_type)


def add_to_fallback(
    registry: Registry,
    subject: str,
    entry: Descriptor,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Add ``entry`` to the fallback index of ``subject``, keeping every live entry.

    Read-modify-write, then read back; repeated up to three times because
    registries have no compare-and-swap on tags.

    Args:
        registry: the repository holding the subject.
        subject: the subject manifest digest.
        entry: the referrer's descriptor (with artifact type and annotations).
        sleep: pause between attempts (injectable for tests).

    Raises:
        ConcurrencyError: the entry was still missing after the last attempt.
    """
    tag = fallback_tag(subject)
    for attempt in range(ATTEMPTS):
        current = _read_doc(registry, tag)
        doc, changed = _merge(registry, current, entry)
        if not changed:
            return
        data = sorted_json(doc)
        registry.put_manifest(tag, Manifest(sha256_digest(data), OCI_INDEX, data))
        if any(e.get("digest") == entry.digest for e in _entries(_read_doc(registry, tag))):
            return
        sleep(0.1 * (attempt + 1))
    raise ConcurrencyError(
        f"could not add {entry.digest} to the referrers index {tag} of {registry.uri}",
        hint="another client rewrote the index at the same time; run the command again "
        "(and serialise promotions per repository)",
        details={"tag": tag, "digest": entry.digest},
    )


def _read_doc(registry: Registry, tag: str) -> dict[str, Any] | None:
    try:
        manifest = registry.get_manifest(tag)
    except NotFoundError:
        return None
    doc = load_json(manifest.data, f"fallback index {tag}")
    index_entries(manifest.data, f"fallback index {tag}")  # shape check
    return doc


def _entries(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if doc is None:
        return []
    entries = doc.get("manifests")
    return entries if isinstance(entries, list) else []


def _merge(
    registry: Registry, current: dict[str, Any] | None, entry: Descriptor
) -> tuple[dict[str, Any], bool]:
    """The new index document, and whether it differs from ``current``."""
    old = _entries(current)
    kept = [e for e in old if e.get("digest") == entry.digest or _exists(registry, e)]
    present = any(e.get("digest") == entry.digest for e in kept)
    if not present:
        kept.append(descriptor_to_json(entry))
    doc = dict(current or {})
    doc.update({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": kept})
    return doc, doc != current


def _exists(registry: Registry, entry: dict[str, Any]) -> bool:
    digest = entry.get("digest")
    if not isinstance(digest, str) or not DIGEST_RE.match(digest):
        return True  # not ours to judge: keep it
    return registry.resolve(digest) is not None

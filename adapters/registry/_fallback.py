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
from floe_ledger.adapters.system.parallel import each
from floe_ledger.domain.model.errors import ConcurrencyError, NotFoundError
from floe_ledger.domain.model.oci import OCI_INDEX, Descriptor, Manifest, sha256_digest, sorted_json
from floe_ledger.domain.model.values import DIGEST_RE
from floe_ledger.domain.services.ports import Registry

ATTEMPTS = 3


class Unread:
    """The index was not read yet."""


UNREAD = Unread()


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


def read_index(registry: Registry, subject: str) -> dict[str, Any] | None:
    """The fallback index document of ``subject`` as it is now (None: there is none)."""
    return _read_doc(registry, fallback_tag(subject))


def add_to_fallback(
    registry: Registry,
    subject: str,
    entry: Descriptor,
    *,
    sleep: Callable[[float], None] = time.sleep,
    current: dict[str, Any] | Unread | None = UNREAD,
) -> None:
    """Add ``entry`` to the fallback index of ``subject``, keeping every live entry.

    Read-modify-write, then read back; repeated up to three times because
    registries have no compare-and-swap on tags.

    Args:
        registry: the repository holding the subject.
        subject: the subject manifest digest.
        entry: the referrer's descriptor (with artifact type and annotations).
        sleep: pause between attempts (injectable for tests).
        current: the index as :func:`read_index` read it just now, while the referrer
            manifest was stored (the first attempt starts from it instead of reading).

    Raises:
        ConcurrencyError: the entry was still missing after the last attempt.
    """
    tag = fallback_tag(subject)
    for attempt in range(ATTEMPTS):
        if isinstance(current, Unread) or attempt:
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
    live = each(lambda e: e.get("digest") == entry.digest or _exists(registry, e), old)
    kept = [e for e, keep in zip(old, live, strict=True) if keep]
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

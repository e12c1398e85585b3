"""Helpers shared by the registry adapters: references, digest checks, descriptors, indexes."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, BinaryIO

from floe_ledger.domain.model.errors import (
    IntegrityError,
    RegistryUnavailableError,
    UsageError,
    quoted,
)
from floe_ledger.domain.model.oci import (
    MANIFEST_MEDIA_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    sha256_digest,
)
from floe_ledger.domain.model.values import DIGEST_RE, TAG_RE

ANY_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\Z")
TITLE = "org.opencontainers.image.title"
REF_NAME = "org.opencontainers.image.ref.name"


def is_digest(reference: str) -> bool:
    """Whether ``reference`` is a digest (``algorithm:hex``) rather than a tag."""
    return ":" in reference


def check_reference(reference: str) -> str:
    """Return ``reference`` if it is a valid tag or sha256 digest, else raise UsageError."""
    if DIGEST_RE.match(reference) or TAG_RE.match(reference):
        return reference
    raise UsageError(
        f"not a valid tag or digest: {quoted(reference)}",
        hint="tags are 1-128 of [A-Za-z0-9_.-]; digests look like sha256:<64 hex>",
    )


def check_tag_only(reference: str) -> str:
    """``reference`` if it is a tag; UsageError for a digest (floe deletes tags, never
    manifests: deleting by digest removes every tag of the manifest)."""
    ref = check_reference(reference)
    if is_digest(ref):
        raise UsageError(f"refusing to delete {ref}: floe deletes tags, never manifests",
                         hint="pass a tag")
    return ref


def check_sha256(digest: str) -> str:
    """Return ``digest`` if it is ``sha256:<64 hex>``, else raise UsageError."""
    if not DIGEST_RE.match(digest):
        raise UsageError(f"not a sha256 digest: {digest!r}", hint="use sha256:<64 hex>")
    return digest


def verify_digest(data: bytes, expected: str, what: str) -> str:
    """Check that ``data`` hashes to ``expected``; return the digest or raise IntegrityError."""
    actual = sha256_digest(data)
    if actual != expected:
        raise IntegrityError(
            f"{what}: content digest {actual} does not match {expected}",
            hint="the registry returned different bytes than it named; check for a proxy "
            "or a corrupted registry store",
            details={"expected": expected, "actual": actual},
        )
    return actual


def verify_file(out: BinaryIO, expected: str, size: int, what: str) -> None:
    """Check that the file ``out`` holds ``size`` bytes hashing to ``expected`` (read back
    in chunks); IntegrityError if not."""
    out.flush()
    out.seek(0)
    hasher, received = hashlib.sha256(), 0
    while chunk := out.read(1024 * 1024):
        hasher.update(chunk)
        received += len(chunk)
    actual = "sha256:" + hasher.hexdigest()
    if actual != expected or received != size:
        raise IntegrityError(
            f"{what}: content ({received} bytes, digest {actual}) does not match its "
            f"descriptor ({size} bytes, digest {expected})",
            hint="the registry returned different bytes than it named; check for a proxy "
            "or a corrupted registry store",
            details={"expected": expected, "actual": actual, "size": size,
                     "received": received},
        )


def fallback_tag(digest: str) -> str:
    """The referrers fallback tag of a subject digest: ``sha256-<hex>``."""
    return check_sha256(digest).replace(":", "-", 1)


def load_json(data: bytes, what: str) -> dict[str, Any]:
    """Parse a JSON object, raising IntegrityError if it is not one."""
    hint = "inspect it in the registry"
    try:
        value = json.loads(data)
    except ValueError:
        raise IntegrityError(f"{what} is not valid JSON", hint=hint) from None
    if not isinstance(value, dict):
        raise IntegrityError(f"{what} is not a JSON object", hint=hint)
    return value


def manifest_media_type(content_type: str, data: bytes, what: str) -> str:
    """The media type of a fetched manifest: its Content-Type when that is a manifest type
    (IntegrityError if the JSON declares another one), else what the JSON declares."""
    if content_type not in MANIFEST_MEDIA_TYPES:
        return sniff_media_type(data)
    try:
        doc = json.loads(data)
    except ValueError:
        return content_type
    declared = doc.get("mediaType") if isinstance(doc, dict) else None
    if isinstance(declared, str) and declared and declared != content_type:
        raise IntegrityError(
            f"{what} was served as {content_type} but declares mediaType {declared[:100]!r}",
            hint="the registry or a proxy changed the manifest's Content-Type; check them",
            details={"content_type": content_type},
        )
    return content_type


def tag_list(data: bytes, what: str) -> list[str]:
    """The ``tags`` of a tag-list page; RegistryUnavailableError if the page is not the JSON
    the distribution API defines or names a tag that is not one."""
    try:
        doc = json.loads(data)
    except ValueError:
        doc = None
    tags = doc.get("tags") if isinstance(doc, dict) else ()
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) and TAG_RE.match(t)
                                             for t in tags):
        raise RegistryUnavailableError(
            f"{what} is not a tag list (JSON {{\"tags\": [tag, ...]}} of valid tags)",
            hint="the registry answered the tag-list API with something else; check it "
            "and any proxy in front of it",
        )
    return tags


def sniff_media_type(data: bytes) -> str:
    """The media type a manifest's JSON declares (or implies, when ``mediaType`` is absent)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return OCI_MANIFEST
    if isinstance(doc, dict):
        declared = doc.get("mediaType")
        if isinstance(declared, str) and declared:
            return declared
        if "manifests" in doc:
            return OCI_INDEX
    return OCI_MANIFEST


def descriptor_from_json(entry: dict[str, Any]) -> Descriptor:
    """A Descriptor from a JSON descriptor object (unknown fields ignored).

    Raises:
        IntegrityError: no string digest, a size that is not a non-negative integer, or
            annotations that are not an object.
    """
    digest, size = entry.get("digest"), entry.get("size", 0)
    annotations = entry.get("annotations") or {}
    artifact_type = entry.get("artifactType")
    if (not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool)
            or size < 0 or not isinstance(annotations, dict)):
        raise IntegrityError(
            "an index entry is not a descriptor (it needs a digest string, a non-negative "
            "integer size and annotations that are an object)",
            hint="inspect the index (referrers answer or sha256-<hex> tag) in the registry",
        )
    return Descriptor(
        media_type=str(entry.get("mediaType", "")),
        digest=digest,
        size=size,
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        annotations={str(k): str(v) for k, v in annotations.items()},
    )


def descriptor_to_json(desc: Descriptor) -> dict[str, Any]:
    """A JSON descriptor object from a Descriptor (empty optional fields left out)."""
    out: dict[str, Any] = {"mediaType": desc.media_type, "digest": desc.digest, "size": desc.size}
    if desc.artifact_type:
        out["artifactType"] = desc.artifact_type
    if desc.annotations:
        out["annotations"] = dict(desc.annotations)
    return out


def index_entries(data: bytes, what: str) -> list[dict[str, Any]]:
    """The raw ``manifests`` entries of an image index."""
    doc = load_json(data, what)
    entries = doc.get("manifests")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise IntegrityError(f"{what} is not an OCI image index", hint="inspect it in the registry")
    return entries


def filter_referrers(entries: list[dict[str, Any]], artifact_type: str | None) -> list[Descriptor]:
    """Descriptors of index entries, keeping those of ``artifact_type`` when given."""
    found = [descriptor_from_json(e) for e in entries]
    if artifact_type is None:
        return found
    return [d for d in found if d.artifact_type == artifact_type]


def referrer_descriptor(manifest: Manifest, artifact_type: str, subject: str) -> Descriptor:
    """The fallback-index entry for a referrer manifest (its annotations copied).

    Raises:
        UsageError: the manifest's ``subject`` or ``artifactType`` disagree with the call.
    """
    doc = load_json(manifest.data, f"referrer manifest {manifest.digest}")
    named = doc.get("subject")
    if not isinstance(named, dict) or named.get("digest") != subject:
        raise UsageError(
            f"referrer manifest {manifest.digest} does not name {subject} as its subject",
            hint="set the manifest's subject to the descriptor of the artifact it describes",
        )
    declared = doc.get("artifactType")
    if declared is not None and declared != artifact_type:
        raise UsageError(
            f"referrer manifest {manifest.digest} has artifactType {declared!r}, "
            f"not {artifact_type!r}",
            hint="attach it with the artifact type its manifest declares",
        )
    annotations = doc.get("annotations") or {}
    return Descriptor(
        media_type=manifest.media_type,
        digest=manifest.digest,
        size=len(manifest.data),
        artifact_type=artifact_type,
        annotations={str(k): str(v) for k, v in annotations.items()},
    )


def check_manifest_target(reference: str, manifest: Manifest) -> str:
    """The checked reference a manifest may be stored under: its bytes must match its
    digest, and a digest reference must be that digest."""
    ref = check_reference(reference)
    verify_digest(manifest.data, manifest.digest, f"manifest to store as {ref}")
    if is_digest(ref) and ref != manifest.digest:
        raise IntegrityError(
            f"cannot store manifest {manifest.digest} under digest {ref}",
            hint="a manifest can only be stored under its own digest",
        )
    return ref

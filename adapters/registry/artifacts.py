"""Push files as an OCI artifact, and pull them back.

Example::

    manifest = push_files(registry, [Path("bundle.tar.gz")], "v1.2.3-dev")
    pull_files(registry, "v1.2.3-dev", Path("out"))   # → [Path("out/bundle.tar.gz")]

The manifest is an OCI 1.1 image manifest with an ``artifactType``, the empty
config descriptor and one layer per file titled with the file's name; its JSON is
compact with sorted keys, so the same files and annotations give the same digest.
``pull_files`` (re-exported here) lives in :mod:`.pull`.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floe_ledger.adapters.registry._common import TITLE
from floe_ledger.adapters.registry.pull import pull_files
from floe_ledger.domain.model.errors import UsageError
from floe_ledger.domain.model.oci import (
    OCI_EMPTY,
    OCI_MANIFEST,
    Manifest,
    sha256_digest,
    sorted_json,
)
from floe_ledger.domain.services.ports import Registry

DEFAULT_ARTIFACT_TYPE = "application/vnd.floe.bundle.v1"
DEFAULT_LAYER_TYPE = "application/octet-stream"
CREATED = "org.opencontainers.image.created"
EMPTY_CONFIG = b"{}"
EMPTY_DESCRIPTOR: dict[str, Any] = {
    "mediaType": OCI_EMPTY,
    "digest": sha256_digest(EMPTY_CONFIG),
    "size": len(EMPTY_CONFIG),
    "data": base64.b64encode(EMPTY_CONFIG).decode("ascii"),
}


def push_files(
    registry: Registry,
    files: list[Path],
    tag: str,
    *,
    artifact_type: str = DEFAULT_ARTIFACT_TYPE,
    annotations: dict[str, str] | None = None,
    layer_media_type: str = DEFAULT_LAYER_TYPE,
) -> Manifest:
    """Upload files as layers of one artifact and tag its manifest.

    Args:
        registry: where to push.
        files: the files; each becomes a layer titled with its name.
        tag: the tag to write.
        artifact_type: the manifest's ``artifactType``.
        annotations: manifest annotations; ``org.opencontainers.image.created`` is
            added (now, UTC) unless given.
        layer_media_type: the media type of every layer.

    Returns:
        The manifest as stored (its digest is what the registry reported).

    Raises:
        UsageError: no files, two files with the same name, or a file that cannot be read.
    """
    if not files:
        raise UsageError("no files to push", hint="give at least one file")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise UsageError(f"file names must be unique in an artifact: {names}", hint="rename one")
    registry.put_blob(EMPTY_CONFIG, OCI_EMPTY)
    layers = [_push_layer(registry, path, layer_media_type) for path in files]
    notes = dict(annotations or {})
    notes.setdefault(CREATED, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": EMPTY_DESCRIPTOR,
        "layers": layers,
        "annotations": notes,
    }
    data = sorted_json(doc)
    manifest = Manifest(sha256_digest(data), OCI_MANIFEST, data)
    registry.put_manifest(tag, manifest)
    return manifest


def _push_layer(registry: Registry, path: Path, media_type: str) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}",
                         hint="give files that exist and can be read") from None
    return {
        "mediaType": media_type,
        "digest": registry.put_blob(data, media_type),
        "size": len(data),
        "annotations": {TITLE: path.name},
    }


__all__ = ["DEFAULT_ARTIFACT_TYPE", "EMPTY_CONFIG", "EMPTY_DESCRIPTOR", "pull_files", "push_files"]

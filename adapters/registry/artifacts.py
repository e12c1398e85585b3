"""Push files as an OCI artifact, and pull them back.

Example::

    manifest = push_files(registry, [Path("bundle.tar.gz")], "v1.2.3-dev")
    pull_files(registry, "v1.2.3-dev", Path("out"))   # → [Path("out/bundle.tar.gz")]

The manifest is an OCI 1.1 image manifest with an ``artifactType``, the empty
config descriptor and one layer per file titled with the file's name; its JSON is
compact with sorted keys, so the same files and annotations give the same digest.
"""

from __future__ import annotations

import base64
import errno
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floe_ledger.adapters.registry._common import TITLE, load_json
from floe_ledger.domain.model.errors import IntegrityError, UsageError
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
        UsageError: no files, or two files with the same name.
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
    data = path.read_bytes()
    return {
        "mediaType": media_type,
        "digest": registry.put_blob(data, media_type),
        "size": len(data),
        "annotations": {TITLE: path.name},
    }


def pull_files(registry: Registry, reference: str, dest_dir: Path) -> list[Path]:
    """Download an artifact's layers into ``dest_dir``, each under its title.

    Args:
        registry: where to pull from.
        reference: tag or digest of the artifact.
        dest_dir: the folder to write to (created if missing).

    Returns:
        The written files, in layer order.

    Raises:
        IntegrityError: a layer has no title or an unsafe one (path separators, '..').
        NotFoundError: the manifest or a blob is missing.
    """
    manifest = registry.get_manifest(reference)
    doc = load_json(manifest.data, f"manifest {reference}")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise IntegrityError(
            f"{reference} is not an image manifest with layers",
            hint="pull_files reads artifacts written by push_files (OCI image manifests)",
        )
    planned = [(_safe_title(layer, reference), str(layer.get("digest"))) for layer in layers]
    titles = [title for title, _ in planned]
    if len(set(titles)) != len(titles):
        dupes = sorted({t for t in titles if titles.count(t) > 1})
        raise IntegrityError(f"{reference} has several layers titled {', '.join(dupes)}",
                             hint="one would overwrite the other; nothing was written")
    dest_dir.mkdir(parents=True, exist_ok=True)
    for title in titles:
        _refuse_link(dest_dir / title)
    written = []
    for title, digest in planned:
        target = dest_dir / title
        _write_new(target, registry.get_blob(digest))
        written.append(target)
    return written


def _refuse_link(target: Path) -> None:
    """A symlink (or anything but a regular file) already at ``target`` is never followed."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise UsageError(f"{target} is {kind}; artifact pull never writes through it",
                         hint="remove it, or pull into an empty directory")


def _write_new(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` without following a symlink at the last component (§13)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise UsageError(f"{target} is a symbolic link; artifact pull never writes "
                             "through it", hint="remove it, or pull into an empty directory"
                             ) from None
        raise
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _safe_title(layer: Any, reference: str) -> str:
    title = (layer.get("annotations") or {}).get(TITLE) if isinstance(layer, dict) else None
    if (
        not isinstance(title, str)
        or title in ("", ".")
        or ".." in title
        or "/" in title
        or "\\" in title
        or "\x00" in title
    ):
        raise IntegrityError(
            f"layer title {title!r} in {reference} is missing or not a safe file name",
            hint="only artifacts whose layers are titled with plain file names can be pulled",
        )
    return title

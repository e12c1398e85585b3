"""Pull an artifact's files into a directory, never writing outside it (security review §13).

Example::

    pull_files(registry, "sha256:5f1c...", Path("out"))   # → [Path("out/bundle.tar.gz")]

Every layer is checked before anything is written: its title must be a plain file name (no
path separator, no ``..``, no control character, at most 255 bytes of UTF-8, unique even
where a file system folds case or Unicode forms), its digest a sha256 digest and its size a
non-negative integer (IntegrityError, exit 14, otherwise). A title naming a symlink or
anything but a regular file already in the directory is refused (UsageError, exit 2).

The layers are then streamed into hidden temporary files in the directory, up to
:data:`PULL_CONCURRENCY` at once (never whole in memory; each refused past its descriptor's
size and checked against its digest while it arrives, before its last chunk is written), and only
when all of them arrived are they renamed onto their titles. Every file operation is
relative to the directory opened once, so swapping the directory meanwhile redirects
nothing, and a rename replaces a directory entry: it never writes through a symlink or a
hard link. On any error the temporary files are removed: nothing partial is left.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from floe_ledger.adapters.registry._common import TITLE, load_json
from floe_ledger.adapters.system.parallel import run_all
from floe_ledger.domain.model.errors import (
    FloeError,
    IntegrityError,
    RegistryUnavailableError,
    UsageError,
)
from floe_ledger.domain.model.values import DIGEST_RE
from floe_ledger.domain.services.ports import Registry

MAX_NAME_BYTES = 255  # NAME_MAX of Linux and macOS file systems
TEMP_PREFIX = ".floe-pull-"
PULL_CONCURRENCY = 4  # layers downloaded at once
FETCH_ATTEMPTS = 3
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Layer:
    """One file to pull: its title, digest and size, all checked."""

    title: str
    digest: str
    size: int


def pull_files(registry: Registry, reference: str, dest_dir: Path) -> list[Path]:
    """Download an artifact's layers into ``dest_dir``, each under its title: all or none.

    Args:
        registry: where to pull from.
        reference: tag or digest of the artifact.
        dest_dir: the folder to write to (created if missing).

    Returns:
        The written files, in layer order.

    Raises:
        IntegrityError: not an image manifest with layers, a layer with no title or an
            unsafe one, titles that collide, or a blob that does not match its descriptor.
        UsageError: a title names a symlink or non-file in ``dest_dir``, or ``dest_dir``
            cannot be created or written.
        NotFoundError: the manifest or a blob is missing.
    """
    manifest = registry.get_manifest(reference)
    layers = plan_layers(load_json(manifest.data, f"manifest {reference}"), reference)
    directory = _open_dir(dest_dir)
    try:
        for layer in layers:
            _refuse_link(directory, layer.title, dest_dir)
        staged = _download(registry, layers, directory, dest_dir)
        _publish(staged, directory, dest_dir)
    finally:
        os.close(directory)
    return [dest_dir / layer.title for layer in layers]


def plan_layers(doc: dict[str, Any], reference: str) -> list[Layer]:
    """The checked layers of a manifest, in order (IntegrityError if any is unsafe)."""
    layers = doc.get("layers")
    if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
        raise IntegrityError(
            f"{reference} is not an image manifest with layers",
            hint="pull reads artifacts written by 'floe artifact push' (OCI image manifests)",
        )
    planned = [_layer(x, reference) for x in layers]
    titles = [x.title for x in planned]
    folded = [unicodedata.normalize("NFC", t).casefold() for t in titles]
    clashes = sorted({t for t, f in zip(titles, folded, strict=True) if folded.count(f) > 1})
    if clashes:
        raise IntegrityError(
            f"{reference} has several layers titled {', '.join(map(repr, clashes))}",
            hint="one would overwrite the other (on a file system that folds case or "
            "Unicode forms); nothing was written",
        )
    return planned


def _layer(layer: dict[str, Any], reference: str) -> Layer:
    notes = layer.get("annotations") or {}
    title = notes.get(TITLE) if isinstance(notes, dict) else None
    if not _safe_name(title):
        raise IntegrityError(
            f"layer title {str(title)[:120]!r} in {reference} is missing or not a safe file "
            "name",
            hint="only artifacts whose layers are titled with plain file names (no path, "
            "no '..', no control characters, at most 255 bytes) can be pulled",
        )
    digest, size = layer.get("digest"), layer.get("size")
    if (not isinstance(digest, str) or not DIGEST_RE.match(digest)
            or not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise IntegrityError(
            f"layer {title!r} in {reference} has no sha256 digest or no valid size",
            hint="the manifest is malformed; inspect it in the registry",
        )
    return Layer(title, digest, size)


def _safe_name(title: object) -> TypeGuard[str]:
    if not isinstance(title, str) or title in ("", ".") or ".." in title:
        return False
    if "/" in title or "\\" in title or _CONTROL.search(title):
        return False
    try:
        return len(title.encode("utf-8")) <= MAX_NAME_BYTES
    except UnicodeEncodeError:  # a lone surrogate from JSON's \ud800
        return False


def _open_dir(dest_dir: Path) -> int:
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        return os.open(dest_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise _local(dest_dir, err) from None


def _refuse_link(directory: int, title: str, dest_dir: Path) -> None:
    """A symlink (or anything but a regular file) already at ``title`` is never replaced."""
    try:
        st = os.stat(title, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise UsageError(f"{dest_dir / title} is {kind}; artifact pull never writes through it",
                         hint="remove it, or pull into an empty directory")


def _download(registry: Registry, layers: list[Layer], directory: int,
              dest_dir: Path) -> list[tuple[str, str]]:
    """Each layer streamed into its own new temporary file; [(temporary name, title)]."""
    staged: list[tuple[str, str]] = []
    files: list[tuple[int, Layer]] = []
    try:
        for layer in layers:
            temp = f"{TEMP_PREFIX}{secrets.token_hex(8)}.part"
            fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o644, dir_fd=directory)
            staged.append((temp, layer.title))
            files.append((fd, layer))
        opened, files = files, []  # from here on each _fetch closes its own file
        run_all([lambda fd=fd, layer=layer: _fetch(registry, layer, fd)  # type: ignore[misc]
                 for fd, layer in opened], PULL_CONCURRENCY)
    except (FloeError, OSError, KeyboardInterrupt) as err:
        for fd, _ in files:
            os.close(fd)
        _remove([temp for temp, _ in staged], directory)
        if isinstance(err, OSError):
            raise _local(dest_dir, err) from None
        raise
    return staged


def _fetch(registry: Registry, layer: Layer, fd: int) -> None:
    """Stream one layer into the open file ``fd`` (and close it). A connection lost
    mid-body starts the layer over (:data:`FETCH_ATTEMPTS` in all), as any request is."""
    with os.fdopen(fd, "wb") as out:
        for attempt in range(FETCH_ATTEMPTS):
            out.seek(0)
            out.truncate()
            try:
                with registry.open_blob(layer.digest, layer.size) as chunks:
                    for chunk in chunks:
                        out.write(chunk)
                return
            except RegistryUnavailableError:
                if attempt == FETCH_ATTEMPTS - 1:
                    raise


def _publish(staged: list[tuple[str, str]], directory: int, dest_dir: Path) -> None:
    """Rename every temporary file onto its title (a rename never follows a link)."""
    for done, (temp, title) in enumerate(staged):
        try:
            os.rename(temp, title, src_dir_fd=directory, dst_dir_fd=directory)
        except OSError as err:
            _remove([t for t, _ in staged[done:]], directory)
            raise _local(dest_dir, err) from None


def _remove(names: list[str], directory: int) -> None:
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=directory)


def _local(dest_dir: Path, err: OSError) -> UsageError:
    return UsageError(
        f"cannot write the pulled files into {dest_dir}: {err.strerror or type(err).__name__}",
        hint="give a directory you can write to (it is created if missing), with room for "
        "the artifact",
    )

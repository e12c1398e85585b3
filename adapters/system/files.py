"""Files only their owner may read (the ledger, its caches and checkpoints), and files read
with a byte cap (manifest.yaml, scanner reports) (§10, §18).

    private_file(Path(".floe/ledger.sqlite"))       # .floe/ 0700, the file 0600
    write_private(Path("checkpoint.json"), text)    # created or replaced, 0600
    read_limited(Path("manifest.yaml"), 256 * 1024)  # refused past the cap, unread

A gate command runs as the same user as floe, so these modes do not stop it writing a
file it can find; they stop other users, and floe never hands a gate the path (gates
get neither ``FLOE_LEDGER_URL`` nor a working directory or TMPDIR inside ``.floe/``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
LEDGER_DIR = ".floe"


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents); a ``.floe`` directory is made owner-only (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    if path.name == LEDGER_DIR:
        with contextlib.suppress(OSError):
            path.chmod(DIR_MODE)


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists with mode 0600 (an existing file is tightened, not emptied)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, replacing it atomically."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class FileTooLargeError(Exception):
    """A file (or what a pipe or device gave) is larger than the cap; nothing past it is read."""

    def __init__(self, path: Path, limit: int, size: int | None = None) -> None:
        super().__init__(f"{path}: larger than {limit} bytes")
        self.path = path
        self.limit = limit
        self.size = size


class NotRegularFileError(Exception):
    """The path names a directory, pipe, socket or device where a regular file is needed."""


def read_limited(path: Path, limit: int, *, regular_only: bool = False) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them (security review §18).

    A regular file larger than ``limit`` is refused by its size before any byte is read;
    a pipe or device (``/dev/zero``, ``<(cmd)``) is read until ``limit`` + 1 bytes and then
    refused, so an endless stream costs ``limit`` bytes of memory at most. With
    ``regular_only`` anything but a regular file is :class:`NotRegularFileError`, and
    opening a FIFO does not wait for a writer.

    Raises:
        OSError: the file cannot be opened or read.
        FileTooLargeError: more than ``limit`` bytes.
        NotRegularFileError: ``regular_only`` and not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | (os.O_NONBLOCK if regular_only else 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) and regular_only:
            raise NotRegularFileError(f"{path}: not a regular file")
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise FileTooLargeError(path, limit, info.st_size)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise FileTooLargeError(path, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)

"""Files only their owner may read: the ledger, its caches and checkpoints (§10, §18).

    private_file(Path(".floe/ledger.sqlite"))       # .floe/ 0700, the file 0600
    write_private(Path("checkpoint.json"), text)    # created or replaced, 0600

A gate command runs as the same user as floe, so these modes do not stop it writing a
file it can find; they stop other users, and floe never hands a gate the path (gates
get neither ``FLOE_LEDGER_URL`` nor a working directory or TMPDIR inside ``.floe/``).
"""

from __future__ import annotations

import contextlib
import os
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

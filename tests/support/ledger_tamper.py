"""Tools for tampering with a copy of a SQLite ledger in the audit tests: the events table is
``stored_events`` (originator_id, originator_version, topic, state) and its rowid is the
notification position."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


def copy_sqlite(src: Path, dst: Path) -> Path:
    """A consistent copy of a SQLite ledger (the backup API, not a file copy)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def tamper(ledger: Path, *statements: str) -> None:
    with sqlite3.connect(ledger) as db:
        for sql in statements:
            db.execute(sql)


def count(ledger: Path) -> int:
    with sqlite3.connect(ledger) as db:
        return int(db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])


def rowid_of(ledger: Path, kind: str, text: str) -> int:
    """The position of the first ``kind`` event whose stored state contains ``text``."""
    with sqlite3.connect(ledger) as db:
        row = db.execute("SELECT rowid FROM stored_events WHERE topic LIKE ? AND "
                         "instr(state, ?) > 0 ORDER BY rowid", (f"%/{kind}.%", text)).fetchone()
    return int(row[0])


def checkpoint_keys(folder: Path) -> tuple[Path, Path]:
    """An Ed25519 key pair for ``floe audit checkpoint`` (private PEM, public PEM)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private, public = folder / "checkpoint.pem", folder / "checkpoint.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public

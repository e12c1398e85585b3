"""SignatureVerdict caches (FR-022). Artifacts are immutable, so a digest verified under a
policy stays verified under that policy; only ``verified`` verdicts are stored.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from floe_ledger.domain.model.signature import SignatureVerdict

TABLE = "floe_signature_cache"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    digest TEXT NOT NULL,
    policy_fingerprint TEXT NOT NULL,
    verdict TEXT NOT NULL,
    verified_at TEXT NOT NULL,
    PRIMARY KEY (digest, policy_fingerprint)
)
"""


class VerdictCache(Protocol):
    """Where verified verdicts are remembered, keyed by digest and policy fingerprint."""

    def get(self, digest: str, policy_fingerprint: str) -> SignatureVerdict | None:
        """The stored verified verdict, or None."""
        ...

    def put(self, digest: str, policy_fingerprint: str, verdict: SignatureVerdict) -> None:
        """Remember ``verdict`` if it is verified (anything else is ignored)."""
        ...


class MemoryVerdictCache:
    """A process-local :class:`VerdictCache`."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], SignatureVerdict] = {}

    def get(self, digest: str, policy_fingerprint: str) -> SignatureVerdict | None:
        """The stored verified verdict, or None."""
        return self._items.get((digest, policy_fingerprint))

    def put(self, digest: str, policy_fingerprint: str, verdict: SignatureVerdict) -> None:
        """Remember ``verdict`` if it is verified."""
        if verdict.status == "verified" and verdict.digest == digest:
            self._items[(digest, policy_fingerprint)] = verdict.model_copy(update={"cached": False})


class SqliteVerdictCache:
    """A :class:`VerdictCache` in table ``floe_signature_cache`` of an SQLite file.

    The table is created if it does not exist; nothing else in the file is touched.
    Each call opens and closes its own connection.

    Args:
        path: the SQLite database file (the ledger's own file is fine).
    """

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        with closing(self._connect()) as conn, conn:
            conn.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10)

    def get(self, digest: str, policy_fingerprint: str) -> SignatureVerdict | None:
        """The stored verified verdict, or None (also if the row is unreadable)."""
        with closing(self._connect()) as conn:
            row = conn.execute(
                f"SELECT verdict FROM {TABLE} WHERE digest = ? AND policy_fingerprint = ?",  # noqa: S608
                (digest, policy_fingerprint),
            ).fetchone()
        if row is None:
            return None
        try:
            verdict = SignatureVerdict.model_validate_json(row[0])
        except ValidationError:
            return None
        return verdict if verdict.status == "verified" and verdict.digest == digest else None

    def put(self, digest: str, policy_fingerprint: str, verdict: SignatureVerdict) -> None:
        """Remember ``verdict`` if it is verified."""
        if verdict.status != "verified" or verdict.digest != digest:
            return
        stored = verdict.model_copy(update={"cached": False}).model_dump_json()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as conn, conn:
            conn.execute(
                f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?)",  # noqa: S608
                (digest, policy_fingerprint, stored, now),
            )

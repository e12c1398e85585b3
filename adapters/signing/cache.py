"""SignatureVerdict caches (FR-022). Artifacts are immutable, so a digest verified under a
policy stays verified under that policy; only ``verified`` verdicts are stored.

The persistent cache lives in a database other people and processes can write (the ledger's
SQLite file, or ``.floe/signature-cache.sqlite`` in a checkout), so a row is never trusted for
being there: each row carries an HMAC-SHA256 over its digest, policy fingerprint and verdict
JSON, keyed by a secret floe keeps outside that database (:func:`cache_key_path`, a 0600 file
in the user's state directory, created on first use). A row whose MAC does not verify, for
any reason, is a miss: it is logged as a warning and the signature is verified afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.system.secrets import state_dir
from floe_ledger.domain.model.signature import SignatureVerdict

TABLE = "floe_signature_cache"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    digest TEXT NOT NULL,
    policy_fingerprint TEXT NOT NULL,
    verdict TEXT NOT NULL,
    verified_at TEXT NOT NULL,
    mac TEXT,
    PRIMARY KEY (digest, policy_fingerprint)
)
"""

log = get_logger("floe.signing")


class VerdictCache(Protocol):
    """Where verified verdicts are remembered, keyed by digest and policy fingerprint."""

    def get(self, digest: str, policy_fingerprint: str) -> SignatureVerdict | None:
        """The stored verified verdict, or None."""
        ...

    def put(self, digest: str, policy_fingerprint: str, verdict: SignatureVerdict) -> None:
        """Remember ``verdict`` if it is verified (anything else is ignored)."""
        ...


def cache_key_path(env: Mapping[str, str]) -> Path:
    """Where the verdict-cache MAC key lives: ``$XDG_STATE_HOME/floe/verdict-cache.key``,
    else ``~/.local/state/floe/verdict-cache.key`` (``FLOE_VERDICT_CACHE_KEY`` overrides)."""
    explicit = env.get("FLOE_VERDICT_CACHE_KEY")
    if explicit:
        return Path(explicit).expanduser()
    return state_dir(env) / "verdict-cache.key"


def row_mac(key: bytes, digest: str, policy_fingerprint: str, verdict_json: str) -> str:
    """HMAC-SHA256 (hex) binding a cache row's verdict to its digest and policy."""
    message = b"\0".join([b"floe-verdict-cache-v1", digest.encode(),
                          policy_fingerprint.encode(), verdict_json.encode()])
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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

    The table is created if it does not exist (a ``mac`` column is added to a table from
    an older floe; its rows have no MAC and are never served); nothing else in the file is
    touched. Each call opens and closes its own connection.

    Args:
        path: the SQLite database file (the ledger's own file is fine).
        key: the MAC key (:func:`floe_ledger.adapters.system.secrets.load_or_create_key`);
            it must not be stored in ``path``.
    """

    def __init__(self, path: str | Path, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("verdict cache MAC key is too short")
        self._path = str(path)
        self._key = key
        with closing(self._connect()) as conn, conn:
            conn.execute(_SCHEMA)
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({TABLE})")}
            if "mac" not in columns:
                conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN mac TEXT")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10)

    def get(self, digest: str, policy_fingerprint: str) -> SignatureVerdict | None:
        """The stored verified verdict, or None (also if the row is unreadable or its MAC
        does not verify: such a row is logged and ignored, never trusted)."""
        with closing(self._connect()) as conn:
            row = conn.execute(
                f"SELECT verdict, mac FROM {TABLE} "  # noqa: S608
                "WHERE digest = ? AND policy_fingerprint = ?",
                (digest, policy_fingerprint),
            ).fetchone()
        if row is None:
            return None
        stored, mac = row
        expected = row_mac(self._key, digest, policy_fingerprint, str(stored))
        if not isinstance(mac, str) or not hmac.compare_digest(mac, expected):
            log.warning("signature_cache.row_rejected", digest=digest, database=self._path,
                        reason="MAC missing" if mac is None else "MAC does not verify",
                        action="ignored; verifying the signature again")
            return None
        try:
            verdict = SignatureVerdict.model_validate_json(stored)
        except ValidationError:
            return None
        return verdict if verdict.status == "verified" and verdict.digest == digest else None

    def put(self, digest: str, policy_fingerprint: str, verdict: SignatureVerdict) -> None:
        """Remember ``verdict`` if it is verified, with its MAC."""
        if verdict.status != "verified" or verdict.digest != digest:
            return
        stored = verdict.model_copy(update={"cached": False}).model_dump_json()
        mac = row_mac(self._key, digest, policy_fingerprint, stored)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as conn, conn:
            conn.execute(
                f"INSERT OR REPLACE INTO {TABLE} "  # noqa: S608
                "(digest, policy_fingerprint, verdict, verified_at, mac) VALUES (?, ?, ?, ?, ?)",
                (digest, policy_fingerprint, stored, now, mac),
            )

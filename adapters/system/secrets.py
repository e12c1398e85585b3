"""Secrets floe keeps outside the ledger database: whoever can write the ledger (a CI
runner holding FLOE_LEDGER_URL, anyone with the SQLite file) must not also be able to
forge what floe trusts without replaying (snapshots, cached verdicts).

    key = local_secret("ledger-snapshots", os.environ)

The secret is ``FLOE_LEDGER_KEY`` (hex, at least 32 bytes: share it between the runners of
one team so they trust each other's snapshots), else a random 32-byte key in a 0600 file
under ``$FLOE_STATE_DIR``, ``$XDG_STATE_HOME/floe`` or ``~/.local/state/floe``, created on
first use. Each use gets its own key, derived from that secret and the use's name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from floe_ledger.domain.model.errors import ConfigError

KEY_ENV = "FLOE_LEDGER_KEY"
KEY_BYTES = 32


def local_secret(purpose: str, env: Mapping[str, str]) -> bytes:
    """A 32-byte key for ``purpose`` (e.g. ``ledger-snapshots``), stable on this machine."""
    return hmac.new(_root_secret(env), purpose.encode(), hashlib.sha256).digest()


def state_dir(env: Mapping[str, str]) -> Path:
    if env.get("FLOE_STATE_DIR"):
        return Path(env["FLOE_STATE_DIR"])
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "floe"
    return Path(env.get("HOME") or Path.home()) / ".local" / "state" / "floe"


def _root_secret(env: Mapping[str, str]) -> bytes:
    given = env.get(KEY_ENV, "").strip()
    if given:
        try:
            key = bytes.fromhex(given)
        except ValueError:
            raise ConfigError(f"{KEY_ENV} is not hexadecimal",
                              hint="generate one with 'openssl rand -hex 32'") from None
        if len(key) < KEY_BYTES:
            raise ConfigError(f"{KEY_ENV} is {len(key)} bytes; at least 32 are needed",
                              hint="generate one with 'openssl rand -hex 32'")
        return key
    return load_or_create_key(state_dir(env) / "ledger.key")


def load_or_create_key(path: Path) -> bytes:
    """The MAC key in ``path``; a fresh random one (mode 0600, parent 0700) if it is absent.

    Raises:
        ConfigError: the file exists but is not a key floe wrote, or is readable by others.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another process created it meanwhile: use theirs
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.hex().encode())
        return key
    if path.stat().st_mode & 0o077:
        raise ConfigError(
            f"key {path} is readable or writable by other users",
            hint=f"chmod 600 {path} (or delete it: floe makes a new one)",
        )
    try:
        key = bytes.fromhex(data.decode().strip())
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"key {path} is not a {KEY_BYTES}-byte hex key",
                          hint="delete it; floe writes a new one")
    return key

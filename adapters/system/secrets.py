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
        if len(key) < 32:
            raise ConfigError(f"{KEY_ENV} is {len(key)} bytes; at least 32 are needed",
                              hint="generate one with 'openssl rand -hex 32'")
        return key
    path = state_dir(env) / "ledger.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key

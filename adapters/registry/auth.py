"""Registry credentials: explicit settings, else Docker's ``config.json`` and helpers.

Lookup order for a registry host:

1. an explicit username and password (the caller reads ``FLOE_REGISTRY_USERNAME``
   and ``FLOE_REGISTRY_PASSWORD`` from its injected environment mapping);
2. ``credHelpers[host]`` in ``config.json`` (``$DOCKER_CONFIG/config.json``, else
   ``~/.docker/config.json``): runs ``docker-credential-<name> get``;
3. ``auths[host]``: ``auth`` (base64 ``user:pass``), ``username``/``password`` or
   ``identitytoken``;
4. ``credsStore``: the default helper.

Example::

    creds = resolve_credentials("ghcr.io", env=os.environ)
    print(creds)  # Credentials(username='ci-bot', source='config.json', secret=***)

Secrets never appear in a repr, a str, an exception or a log line: each Credentials
registers its password, identity token and Basic form with the one scrubber
(:func:`~floe_ledger.adapters.observability.redact.register_secret`) when it is made, so
that text floe did not write (a registry's error message) is masked of them too.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import subprocess
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from floe_ledger.adapters.observability.redact import register_secret
from floe_ledger.adapters.system.net import display_origin, host_name, is_loopback
from floe_ledger.domain.model.errors import ConfigError, UnauthorizedError

HELPER_TIMEOUT_S = 10
TOKEN_USERNAME = "<token>"  # noqa: S105 - Docker's marker username, not a secret
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
_HINT = (
    "check docker config.json (DOCKER_CONFIG) or FLOE_REGISTRY_USERNAME/FLOE_REGISTRY_PASSWORD"
)


@dataclass(frozen=True)
class Credentials:
    """A username with a password or an identity (refresh) token.

    ``repr`` and ``str`` show only the username and where the credential came from.
    """

    username: str
    password: str = field(default="", repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = "settings"

    def __post_init__(self) -> None:
        for secret in (self.password, self.identity_token):
            register_secret(secret)
        if self.password:
            register_secret(self.basic_header().removeprefix("Basic "))

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, source={self.source!r}, secret=***)"

    __str__ = __repr__

    def basic_header(self) -> str:
        """The ``Authorization`` header value for HTTP Basic auth."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    @property
    def display_user(self) -> str | None:
        """The human username, or None for a bare identity token."""
        return None if self.username in ("", TOKEN_USERNAME) else self.username


def normalise_host(server: str) -> str:
    """``https://Host:5000/v1/`` → ``host:5000``; Docker Hub aliases → ``docker.io``."""
    host = server.strip().lower()
    for prefix in ("https://", "http://"):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    host = host.split("/", 1)[0]
    return "docker.io" if host in _DOCKER_HUB_ALIASES else host


def resolve_credentials(
    host: str,
    *,
    env: Mapping[str, str],
    username: str | None = None,
    password: str | None = None,
) -> Credentials | None:
    """Find the credentials for ``host``; None means anonymous.

    Args:
        host: the registry host, ``name[:port]``.
        env: the environment mapping (``DOCKER_CONFIG``, ``HOME``, ``PATH`` are read).
        username: explicit username (wins over config.json).
        password: explicit password; required with ``username``.

    Returns:
        The credentials, or None when nothing is configured for ``host``.

    Raises:
        ConfigError: half-set explicit credentials, an unreadable config.json, or a
            configured credential helper that is not on PATH.
        UnauthorizedError: a credential helper failed.
    """
    if username or password:
        if not (username and password):
            raise ConfigError(
                "registry username and password must be given together",
                hint="set both FLOE_REGISTRY_USERNAME and FLOE_REGISTRY_PASSWORD, or neither",
            )
        return Credentials(username, password, source="settings")
    config = load_docker_config(env)
    return credentials_from_config(config, normalise_host(host), env)


def docker_config_path(env: Mapping[str, str]) -> Path:
    """``$DOCKER_CONFIG/config.json``, else ``$HOME/.docker/config.json``."""
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".docker" / "config.json"


def load_docker_config(env: Mapping[str, str]) -> dict[str, Any]:
    """The parsed Docker config.json, or ``{}`` if there is none."""
    path = docker_config_path(env)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read Docker config {path}: {type(exc).__name__}",
            hint="fix or remove the file, or point DOCKER_CONFIG at another directory",
        ) from None
    if not isinstance(doc, dict):
        raise ConfigError(f"Docker config {path} is not a JSON object", hint="fix the file")
    return doc


def credentials_from_config(
    config: Mapping[str, Any], host: str, env: Mapping[str, str]
) -> Credentials | None:
    """Credentials for a normalised ``host`` from a parsed config.json."""
    helpers = config.get("credHelpers") or {}
    for server, helper in helpers.items():
        if normalise_host(server) == host and isinstance(helper, str):
            return run_credential_helper(helper, host, env)
    auths = config.get("auths") or {}
    for server, entry in auths.items():
        if normalise_host(server) == host and isinstance(entry, dict):
            creds = _from_auth_entry(entry, host)
            if creds is not None:
                return creds
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        return run_credential_helper(store, host, env)
    return None


def _from_auth_entry(entry: Mapping[str, Any], host: str) -> Credentials | None:
    token = entry.get("identitytoken")
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ConfigError(
                f"the auths[{host!r}].auth entry in Docker config is not base64 user:password",
                hint="run docker login again, or fix config.json",
            ) from None
        return Credentials(user, password, token or None, source="config.json")
    if entry.get("username") or token:
        return Credentials(
            str(entry.get("username") or TOKEN_USERNAME),
            str(entry.get("password") or ""),
            token or None,
            source="config.json",
        )
    return None


def run_credential_helper(name: str, host: str, env: Mapping[str, str]) -> Credentials | None:
    """Ask ``docker-credential-<name> get`` (found on ``env["PATH"]``) for ``host``.

    Returns:
        The credentials, or None if the helper has none for ``host``.
    """
    program = f"docker-credential-{name}"
    exe = shutil.which(program, path=env.get("PATH", ""))
    if exe is None:
        raise ConfigError(
            f"credential helper {program} is not on PATH",
            hint="install it, or remove credHelpers/credsStore from docker config.json",
        )
    try:
        proc = subprocess.run(
            [exe, "get"], input=host.encode(), capture_output=True, timeout=HELPER_TIMEOUT_S,
            check=False, env=dict(env),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UnauthorizedError(
            f"credential helper {program} failed: {type(exc).__name__}", hint=_HINT
        ) from None
    if proc.returncode != 0:
        said = proc.stdout.decode(errors="replace").strip().splitlines()
        if said and "credentials not found" in said[0].lower():
            return None
        first = said[0][:200] if said else f"exit status {proc.returncode}"
        raise UnauthorizedError(f"credential helper {program} failed: {first}", hint=_HINT)
    return _parse_helper_output(proc.stdout, program)


def _parse_helper_output(stdout: bytes, program: str) -> Credentials:
    try:
        doc = json.loads(stdout)
        user, secret = str(doc["Username"]), str(doc["Secret"])
    except (ValueError, KeyError, TypeError):
        raise UnauthorizedError(
            f"credential helper {program} printed no Username/Secret JSON", hint=_HINT
        ) from None
    source = f"credential helper {program}"
    if user == TOKEN_USERNAME:
        return Credentials(TOKEN_USERNAME, "", secret, source=source)
    return Credentials(user, secret, source=source)


def check_realm(realm: httpx.URL, *, registry_scheme: str, registry_host: str,
                insecure_hosts: Collection[str]) -> None:
    """Credentials go to an https token realm; to an http one only from a plain-http
    registry, and only on its own host, on loopback or on an ``insecure_registries`` host.

    Raises:
        UnauthorizedError: the realm would receive credentials in cleartext (exit 12).
    """
    if realm.scheme == "https":
        return
    host = realm.host.lower()
    hostport = f"{host}:{realm.port}" if realm.port else host
    plain_ok = realm.scheme == "http" and registry_scheme == "http" and (
        host == host_name(registry_host) or is_loopback(host)
        or host in insecure_hosts or hostport in insecure_hosts
    )
    if not plain_ok:
        raise UnauthorizedError(
            f"registry {registry_host} asked for credentials to be sent to the token service "
            f"{display_origin(realm)} without https; floe refuses to send them",
            hint="the registry's WWW-Authenticate realm must be an https URL "
            "(only a plain-http registry on loopback or in insecure_registries may use "
            "an http realm on its own host)",
            details={"host": registry_host, "realm": display_origin(realm)},
        )

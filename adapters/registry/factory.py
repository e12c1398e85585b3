"""Build the Registry for a configured ``artifacts.registry.uri``.

Example::

    settings = RegistrySettings(uri="oci://127.0.0.1:5000/acme/app", plain_http=True)
    registry = open_registry(settings, base_dir=Path.cwd(), env=os.environ)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from floe_ledger.adapters.registry._http import DEFAULT_TIMEOUT_S
from floe_ledger.adapters.registry.auth import Credentials, resolve_credentials
from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.registry.layout import LayoutRegistry
from floe_ledger.adapters.registry.reference import RegistryLocation
from floe_ledger.adapters.system.net import host_name, is_loopback
from floe_ledger.domain.model.config import RegistryConfig, ReplicaConfig
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.services.ports import Registry

USERNAME_VAR = "FLOE_REGISTRY_USERNAME"
PASSWORD_VAR = "FLOE_REGISTRY_PASSWORD"  # noqa: S105 - a variable name, not a secret


@dataclass(frozen=True)
class RegistrySettings:
    """How to reach the registry (``artifacts.registry`` plus flags and environment).

    Attributes:
        uri: ``oci://host/repo``, ``host/repo`` or ``oci-layout:./path``.
        plain_http: use http instead of https: honoured only for a loopback host or one
            in ``insecure_registries`` (else ConfigError).
        ca_file: PEM CA bundle for a registry with a private CA.
        username: explicit username (else FLOE_REGISTRY_USERNAME, else config.json).
        password: explicit password; never shown in a repr.
        insecure_registries: ``host[:port]`` entries off loopback that may be reached over
            plain http (``artifacts.registry.insecure_registries``).
        key: the manifest key these settings came from, for error messages.
        timeout_seconds: seconds to wait for an answer to one request
            (``artifacts.registry.timeout_seconds``).
    """

    uri: str
    plain_http: bool = False
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    insecure_registries: tuple[str, ...] = ()
    key: str = "artifacts.registry"
    timeout_seconds: float = DEFAULT_TIMEOUT_S


def open_registry(
    settings: RegistrySettings,
    *,
    base_dir: Path,
    env: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Registry:
    """The Registry adapter the settings name.

    Args:
        settings: the registry settings.
        base_dir: folder that relative ``oci-layout:`` paths are relative to.
        env: the environment mapping (FLOE_REGISTRY_*, DOCKER_CONFIG, HOME, PATH).
        transport: an httpx transport instead of the network (tests).
        sleep: the pause between retries (tests).

    Returns:
        A DistributionRegistry or a LayoutRegistry; nothing is contacted yet.

    Raises:
        ConfigError: a malformed URI, a missing CA file, or ``plain_http`` for a host that
            is neither loopback nor listed in ``insecure_registries``.
    """
    location = RegistryLocation.parse(settings.uri, base_dir=base_dir)
    if location.path is not None:
        return LayoutRegistry(location.path)
    insecure = insecure_hosts(settings.insecure_registries)
    if settings.plain_http:
        check_plain_http(location.host, insecure, settings.key)
    if settings.ca_file is not None and not settings.ca_file.is_file():
        raise ConfigError(
            f"CA file {settings.ca_file} does not exist",
            hint="point ca_file at the PEM certificate of the registry's CA",
        )
    username = settings.username or env.get(USERNAME_VAR) or None
    password = settings.password or env.get(PASSWORD_VAR) or None

    def credentials() -> Credentials | None:
        return resolve_credentials(location.host, env=env, username=username, password=password)

    return DistributionRegistry(
        location.host, location.repository, credentials=credentials,
        plain_http=settings.plain_http, ca_file=settings.ca_file, transport=transport, sleep=sleep,
        insecure_hosts=insecure, timeout=settings.timeout_seconds,
    )


def open_configured(cfg: RegistryConfig | ReplicaConfig, *, insecure: Sequence[str],
                    timeout_seconds: float, base_dir: Path, env: Mapping[str, str],
                    key: str = "artifacts.registry") -> Registry:
    """The Registry of an ``artifacts.registry`` or ``artifacts.replicas`` entry (replicas
    take the primary's ``insecure_registries`` and ``timeout_seconds``)."""
    return open_registry(
        RegistrySettings(uri=cfg.uri, plain_http=cfg.plain_http,
                         ca_file=Path(cfg.ca_file) if cfg.ca_file else None,
                         insecure_registries=tuple(insecure), key=key,
                         timeout_seconds=timeout_seconds),
        base_dir=base_dir, env=env)


def replica_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` less FLOE_REGISTRY_USERNAME/PASSWORD: those are the primary's; a replica's
    credentials come from docker config.json for its own host."""
    return {k: v for k, v in env.items() if k not in (USERNAME_VAR, PASSWORD_VAR)}


def insecure_hosts(entries: tuple[str, ...]) -> frozenset[str]:
    """The ``insecure_registries`` entries, lower-cased; a URL or path is a ConfigError."""
    hosts = frozenset(e.strip().lower() for e in entries if e.strip())
    for host in hosts:
        if "/" in host or host.startswith(("http:", "https:")):
            raise ConfigError(
                f"artifacts.registry.insecure_registries: {host!r} is not host[:port]",
                hint="list bare hosts, e.g. insecure_registries: [registry.lab:5000]",
            )
    return hosts


def check_plain_http(host: str, insecure: frozenset[str], key: str) -> None:
    """Plain http (cleartext credentials and content) only to loopback or a listed host."""
    host = host.lower()
    if is_loopback(host_name(host)) or host in insecure or host_name(host) in insecure:
        return
    raise ConfigError(
        f"{key}.plain_http is true for {host}, which is not a loopback host; floe would "
        "send credentials and artifacts over cleartext http",
        hint=f"use https (with ca_file for a private CA), or list {host!r} in "
        "artifacts.registry.insecure_registries if cleartext to it is really intended",
        details={"key": f"{key}.plain_http", "host": host},
    )

"""Build the Registry for a configured ``artifacts.registry.uri``.

Example::

    settings = RegistrySettings(uri="oci://127.0.0.1:5000/acme/app", plain_http=True)
    registry = open_registry(settings, base_dir=Path.cwd(), env=os.environ)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from floe_ledger.adapters.registry.auth import Credentials, resolve_credentials
from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.registry.layout import LayoutRegistry
from floe_ledger.adapters.registry.reference import RegistryLocation
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.services.ports import Registry

USERNAME_VAR = "FLOE_REGISTRY_USERNAME"
PASSWORD_VAR = "FLOE_REGISTRY_PASSWORD"  # noqa: S105 - a variable name, not a secret


@dataclass(frozen=True)
class RegistrySettings:
    """How to reach the registry (``artifacts.registry`` plus flags and environment).

    Attributes:
        uri: ``oci://host/repo``, ``host/repo`` or ``oci-layout:./path``.
        plain_http: use http instead of https.
        ca_file: PEM CA bundle for a registry with a private CA.
        username: explicit username (else FLOE_REGISTRY_USERNAME, else config.json).
        password: explicit password; never shown in a repr.
    """

    uri: str
    plain_http: bool = False
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)


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
        ConfigError: a malformed URI or a missing CA file.
    """
    location = RegistryLocation.parse(settings.uri, base_dir=base_dir)
    if location.path is not None:
        return LayoutRegistry(location.path)
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
    )

"""Registry adapters: the OCI distribution HTTP API and OCI image-layout directories.

Example::

    from floe_ledger.adapters.registry import RegistrySettings, open_registry

    registry = open_registry(RegistrySettings("oci-layout:./artifacts"), base_dir=root, env={})
    manifest = registry.get_manifest("v1.2.3-dev")
    registry.put_manifest("v1.2.3-staging", manifest)   # same bytes, same digest
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floe_ledger.adapters.registry.artifacts import push_files
    from floe_ledger.adapters.registry.auth import Credentials, resolve_credentials
    from floe_ledger.adapters.registry.distribution import DistributionRegistry
    from floe_ledger.adapters.registry.factory import RegistrySettings, open_registry
    from floe_ledger.adapters.registry.layout import LayoutRegistry
    from floe_ledger.adapters.registry.pull import pull_files
    from floe_ledger.adapters.registry.reference import RegistryLocation

# Loaded on first use: importing httpx costs ~0.2 s, which `status` must not pay.
_HOMES = {
    "pull_files": "pull", "push_files": "artifacts", "Credentials": "auth",
    "resolve_credentials": "auth", "DistributionRegistry": "distribution",
    "RegistrySettings": "factory", "open_registry": "factory", "LayoutRegistry": "layout",
    "RegistryLocation": "reference",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = [
    "Credentials",
    "DistributionRegistry",
    "LayoutRegistry",
    "RegistryLocation",
    "RegistrySettings",
    "open_registry",
    "pull_files",
    "push_files",
    "resolve_credentials",
]

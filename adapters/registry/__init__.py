"""Registry adapters: the OCI distribution HTTP API and OCI image-layout directories.

Example::

    from floe_ledger.adapters.registry import RegistrySettings, open_registry

    registry = open_registry(RegistrySettings("oci-layout:./artifacts"), base_dir=root, env={})
    manifest = registry.get_manifest("v1.2.3-dev")
    registry.put_manifest("v1.2.3-staging", manifest)   # same bytes, same digest
"""

from floe_ledger.adapters.registry.artifacts import pull_files, push_files
from floe_ledger.adapters.registry.auth import Credentials, resolve_credentials
from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.registry.factory import RegistrySettings, open_registry
from floe_ledger.adapters.registry.layout import LayoutRegistry
from floe_ledger.adapters.registry.reference import RegistryLocation

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

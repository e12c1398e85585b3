"""Ask a registry what ``floe doctor`` reports, with reads only.

    facts = probe_registry(registry)    # RegistryUnavailableError (5), UnauthorizedError (12)
    facts.user, facts.tags, facts.referrers     # "alice", 7, "api" | "fallback"

Three reads: the tag list (is the registry there, does it take the credentials, may they
read this repository), ``GET /v2/`` when there are credentials (whom it accepted), and the
referrers of a digest nothing refers to (does it serve the OCI 1.1 referrers API, or do
records go to the ``sha256-<hex>`` fallback index tags). Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.registry.layout import LayoutRegistry
from floe_ledger.domain.model.oci import sha256_digest
from floe_ledger.domain.services.ports import Registry

#: A digest no manifest refers to: the referrers answer for it is empty either way.
PROBE_DIGEST = sha256_digest(b"")


@dataclass(frozen=True)
class RegistryFacts:
    """What the registry answered.

    Attributes:
        uri: the repository (never with credentials).
        kind: ``distribution`` (a server) or ``layout`` (an image-layout directory).
        exists: for a layout, whether the directory is there yet; True for a server.
        user: the user name the registry accepted; None for anonymous access.
        tags: how many tags the repository holds (0: empty or not created yet).
        referrers: ``api`` (the registry lists referrers) or ``fallback`` (records are
            listed in ``sha256-<hex>`` index tags, OCI 1.1's fallback).
    """

    uri: str
    kind: Literal["distribution", "layout"]
    exists: bool
    user: str | None
    tags: int
    referrers: Literal["api", "fallback"]


def probe_registry(registry: Registry) -> RegistryFacts:
    """Read what the registry says about itself and the repository.

    Raises:
        RegistryUnavailableError: no answer, a 5xx, a TLS failure (exit 5).
        UnauthorizedError: the credentials were refused, or are needed and missing (exit 12).
    """
    tags = len(registry.list_tags())
    if isinstance(registry, LayoutRegistry):
        return RegistryFacts(registry.uri, "layout", registry.path.is_dir(), None, tags,
                             "fallback")
    user = registry.authenticated_user()
    registry.referrers(PROBE_DIGEST)
    api = isinstance(registry, DistributionRegistry) and bool(registry.referrers_api)
    return RegistryFacts(registry.uri, "distribution", True, user, tags,
                         "api" if api else "fallback")

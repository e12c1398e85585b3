"""Ports: the outside world as the domain sees it. Adapters implement these.

A :class:`Registry` is bound to one repository (``host/namespace/name`` or an OCI
image-layout directory). Every method raises
:class:`~floe_ledger.domain.errors.RegistryUnavailableError` when the registry
cannot be reached or answers 5xx after bounded retries, and
:class:`~floe_ledger.domain.errors.NotFoundError` only where documented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from floe_ledger.domain.artifact import Artifact

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as the registry stores it: the bytes are the identity."""

    digest: str
    media_type: str
    data: bytes

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.data))


class Registry(Protocol):
    """One OCI repository, in a distribution registry or an image-layout directory."""

    @property
    def uri(self) -> str:
        """Where it is, for display and events; never carries credentials."""
        ...

    def resolve(self, reference: str) -> Descriptor | None:
        """Descriptor of the manifest a tag or digest names, or None if there is none."""
        ...

    def get_manifest(self, reference: str) -> Manifest:
        """The exact manifest bytes for a tag or digest. NotFoundError if absent."""
        ...

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        """Store ``manifest.data`` byte for byte under a tag or its digest.

        Returns the digest the registry reports; IntegrityError if it differs
        from ``manifest.digest``.
        """
        ...

    def list_tags(self) -> list[str]:
        """Every tag of the repository (empty if the repository does not exist)."""
        ...

    def get_blob(self, digest: str) -> bytes:
        """A blob's bytes, checked against its digest. NotFoundError if absent."""
        ...

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        """Upload a blob (idempotent) and return its digest."""
        ...

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose ``subject`` is ``digest``: the referrers API, else the
        ``sha256-<hex>`` fallback index. Filtered by artifact type if given."""
        ...

    def attach_referrer(self, subject: str, manifest: Manifest, artifact_type: str) -> None:
        """Store a manifest whose ``subject`` is ``subject`` and make it discoverable:
        PUT by digest, and where the registry has no referrers API, add it to the
        ``sha256-<hex>`` fallback index, keeping entries other tools wrote."""
        ...

    def authenticated_user(self) -> str | None:
        """The username of the credential the registry accepted, if any."""
        ...

    def close(self) -> None: ...


class LedgerStore(Protocol):
    """Where Artifact aggregates live (the event store)."""

    def load(self, repository: str) -> Artifact | None:
        """The aggregate for a repository reference, or None if it has no events."""
        ...

    def save(self, artifact: Artifact) -> int:
        """Append the aggregate's pending events atomically, with optimistic concurrency.

        Returns the number of events written; ConcurrencyError if another writer
        appended to the same stream first (nothing is written then).
        """
        ...


class Clock(Protocol):
    def now_iso(self) -> str: ...


@dataclass(frozen=True)
class Operator:
    """Who acts, and how we know (FR-045)."""

    name: str
    source: str = "local"  # oidc | registry | local
    authenticated: bool = False
    groups: tuple[str, ...] = ()
    email: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "authenticated": self.authenticated,
            "groups": list(self.groups),
            "email": self.email,
        }


ManifestTypes = Sequence[str]

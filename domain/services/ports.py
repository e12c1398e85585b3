"""Ports: the outside world as the application services see it. Adapters implement these.

A :class:`Registry` is bound to one repository (``host/namespace/name`` or an OCI
image-layout directory). Every method raises
:class:`~floe_ledger.domain.model.errors.RegistryUnavailableError` when the registry
cannot be reached or answers 5xx after bounded retries, and
:class:`~floe_ledger.domain.model.errors.NotFoundError` only where documented.

The ports the promotion calls between deciding and writing tags (signatures, gates,
records, replicas) each have a do-nothing default, so the core flow runs with no
signature policy and no gates; the composition root plugs in the real adapters.
The :class:`Clock` is the services' only source of time, waiting and fresh ids.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from floe_ledger.domain.model.blobs import BlobOpener, BlobStream
from floe_ledger.domain.model.gate_results import GateResult
from floe_ledger.domain.model.oci import Descriptor, Manifest
from floe_ledger.domain.model.records import RecordScan

if TYPE_CHECKING:
    from floe_ledger.domain.model.artifact import Artifact


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

    def delete_tag(self, tag: str) -> bool:
        """Remove ``tag`` alone (its manifest and other tags stay); False if it was not
        there. TagDeleteUnsupportedError if the registry cannot delete a tag on its own:
        never a delete by digest, which would take every tag of the manifest with it."""
        ...

    def get_blob(self, digest: str) -> bytes:
        """A blob's bytes, checked against its digest. NotFoundError if absent."""
        ...

    def copy_blob(self, digest: str, size: int, out: BinaryIO) -> None:
        """Stream a blob into ``out`` (never whole in memory), refusing more than ``size``
        bytes; IntegrityError unless it is ``size`` bytes hashing to ``digest``.
        NotFoundError if absent."""
        ...

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        """Upload a blob (idempotent) and return its digest."""
        ...

    def open_blob(self, digest: str, size: int) -> BlobStream:
        """A blob as a stream of chunks (never whole in memory), checked while it passes:
        IntegrityError before its last chunk unless it is ``size`` bytes hashing to
        ``digest``. NotFoundError if absent. Close it (``with``) when done."""
        ...

    def put_blob_from(self, digest: str, size: int, opener: BlobOpener,
                      media_type: str = "application/octet-stream") -> str:
        """Store the blob ``opener`` streams (called again to start over), never whole in
        memory; idempotent. If its bytes do not hash to ``digest``: IntegrityError, and
        nothing is stored under ``digest``."""
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

    def load(self, repository: str, known: Artifact | None = None) -> Artifact | None:
        """The aggregate for a repository reference, or None if it has no events.

        ``known``: the aggregate as this caller last loaded or saved it (nothing pending);
        the store may read only the newer events and fold them onto it."""
        ...

    def save(self, artifact: Artifact) -> int:
        """Append the aggregate's pending events atomically, with optimistic concurrency.

        Returns the number of events written; ConcurrencyError if another writer
        appended to the same stream first (nothing is written then).
        """
        ...

    def hold(self, repository: str) -> AbstractContextManager[bool]:
        """Wait for the stream's other writers and keep them waiting until the block ends
        (one decide-and-save). Yields True if it queued writers (a shared ledger), False
        where it does nothing (optimistic concurrency alone)."""
        ...


@dataclass(frozen=True)
class SignatureOutcome:
    """What signature verification means for the promotion.

    ``decision`` is ``proceed`` (verified or off), ``warn`` (promote, but say so) or
    ``refuse`` (enforce and not verified).
    """

    decision: str
    verdict: dict[str, Any]
    message: str = ""


class SignatureCheck(Protocol):
    def check(self, registry: Registry, digest: str, *, use_cache: bool) -> SignatureOutcome: ...


class NoSignatureCheck:
    """Verification off: recorded as skipped."""

    def check(self, registry: Registry, digest: str, *, use_cache: bool) -> SignatureOutcome:
        return SignatureOutcome("proceed", {"status": "skipped", "mode": "none",
                                            "enforcement": "off"}, "signature check is off")


@dataclass(frozen=True)
class GateRequest:
    """What a gate may know about the promotion."""

    repository: str
    artifact_ref: str
    digest: str
    version: str
    tag: str
    source: str | None
    target: str
    registry: Registry
    signature: dict[str, Any] = field(default_factory=dict)
    manifest: Manifest | None = None  # already fetched by the flow: gates need not GET it


class GateRunner(Protocol):
    def gate_names(self, target: str) -> list[str]: ...
    def run(self, context: GateRequest) -> list[GateResult]: ...


class NoGates:
    def gate_names(self, target: str) -> list[str]:
        return []

    def run(self, context: GateRequest) -> list[GateResult]:
        return []


class RecordWriter(Protocol):
    """Writes the promotion record next to the artifact (an OCI referrer)."""

    def write(self, registry: Registry, subject_digest: str, record: dict[str, Any], *,
              prepared: object = None) -> str | None:
        """Store ``record`` and make it findable; returns its digest. ``prepared``: what
        :meth:`prepare` returned for this very record (its upload is then not redone)."""
        ...

    def prepare(self, registry: Registry, subject_digest: str, record: dict[str, Any]) -> object:
        """Start uploading what the record's manifest will name, in the background where the
        adapter can (a blob is invisible until a manifest names it); nothing is stored
        that another process could see."""
        ...


class NoRecords:
    def write(self, registry: Registry, subject_digest: str, record: dict[str, Any], *,
              prepared: object = None) -> str | None:
        return None

    def prepare(self, registry: Registry, subject_digest: str, record: dict[str, Any]) -> object:
        return None


class RecordReader(Protocol):
    """Reads the floe records other ledgers wrote to the registry, verified (adapters/records).

    ``tags``: environment, release and ``latest-<env>`` tags (their digests' referrers are
    read) and ``floe-<env>-index`` tags (the environment's lock record). ``also``: tags only
    resolved, with ``tags`` (what the command checks next; no records are read through them).
    Every tag's descriptor is in ``resolved``. Records in ``known`` or written by
    ``ledger_id`` are skipped. Never raises for a bad record: it is returned as rejected.
    """

    def scan(self, registry: Registry, tags: Sequence[str], *, known: Collection[str] = (),
             ledger_id: str = "", also: Sequence[str] = ()) -> RecordScan: ...


class NoRecordReader:
    """No shared records: this ledger knows only what it wrote."""

    def scan(self, registry: Registry, tags: Sequence[str], *, known: Collection[str] = (),
             ledger_id: str = "", also: Sequence[str] = ()) -> RecordScan:
        return RecordScan()


class ReplicationJob(Protocol):
    """Replica writes running in the background."""

    def wait(self) -> list[dict[str, Any]]:
        """One ``{uri, status: ok|failed, error, tags}`` per replica, once all are done."""
        ...


class Replication(Protocol):
    """Copies a promotion to the disaster-recovery replicas (FR-028..030).

    Never raises for a replica failure: it is a status, the promotion stands."""

    def start(self, registry: Registry, digest: str, tags: Sequence[str], *,
              manifest: Manifest | None = None,
              immutable: Collection[str] = ()) -> ReplicationJob: ...

    def push_companions(self, registry: Registry, digest: str,
                        statuses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]: ...


class _NoJob:
    def wait(self) -> list[dict[str, Any]]:
        return []


class NoReplicas:
    """No ``artifacts.replicas``: only the primary is written."""

    def start(self, registry: Registry, digest: str, tags: Sequence[str], *,
              manifest: Manifest | None = None,
              immutable: Collection[str] = ()) -> ReplicationJob:
        return _NoJob()

    def push_companions(self, registry: Registry, digest: str,
                        statuses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [dict(s) for s in statuses]


class ProcessProbe(Protocol):
    def owner(self) -> str: ...
    def alive(self, owner: str) -> bool | None: ...


class Clock(Protocol):
    """Time, waiting and fresh ids: everything a use case would otherwise take from the
    machine (``datetime.now``, ``time.sleep``, ``uuid4``)."""

    def now(self) -> datetime: ...

    def pause(self, attempt: int) -> None:
        """Wait before retry ``attempt`` after a lost race (jittered, growing)."""
        ...

    def new_id(self) -> str:
        """A fresh unique id for a promotion, rollback or refusal."""
        ...

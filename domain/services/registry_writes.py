"""The one way a use case writes to registries: tags on the primary while the replicas copy,
then the registry record (and its companions on the replicas).

    writer = RegistryWriter(registry, replicas, records, tracer)
    written = writer.write_tags(digest, manifest, [TagWrite(env_tag, present=None),
                                                   TagWrite(latest, mutable=True)])
    published = writer.publish_record(digest, record, written.registries)
    gone = writer.delete_tags([TagDelete("v1.0.0-dev", digest, keeper="v1.0.0")])

Promote and rollback write through :meth:`RegistryWriter.write_tags`; promote, rollback,
lock, adoption and gc write their record through :meth:`RegistryWriter.publish_record`; gc
deletes through :meth:`RegistryWriter.delete_tags`. A replica that cannot be written is a
warning and a per-registry status (the promotion stands): the warnings are worded once, in
:func:`replica_warnings`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from floe_ledger.domain.model.errors import FloeError, IntegrityError, TagExistsError
from floe_ledger.domain.model.oci import Manifest
from floe_ledger.domain.services.ports import (
    Clock,
    NoReplicas,
    RecordWriter,
    Registry,
    Replication,
)
from floe_ledger.domain.services.tracing import (
    SPAN_TAG_DELETE,
    SPAN_TAG_WRITE,
    NoopTracer,
    Tracer,
)
from floe_ledger.domain.services.unit_of_work import LedgerHead


@dataclass(frozen=True)
class TagWrite:
    """One tag to point at the digest.

    ``present`` is what the caller already knows of the tag on the primary: True (it names
    the digest already: nothing to PUT), False (PUT it) or None (ask the registry first; an
    immutable tag naming another digest is refused, exit 10).
    """

    tag: str
    mutable: bool = False
    present: bool | None = None


@dataclass
class TagsWritten:
    tags: list[str]
    registries: list[dict[str, Any]]  # primary first, then one status per replica
    present: dict[str, bool] = field(default_factory=dict)  # tag -> it named the digest already
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TagDelete:
    """One tag to delete from the primary while it names ``digest``; ``keeper`` is a tag
    that must still name ``digest`` afterwards (its release tag, or a kept tag)."""

    tag: str
    digest: str
    keeper: str


@dataclass
class TagsDeleted:
    deleted: dict[str, str] = field(default_factory=dict)  # tag -> digest it named
    absent: dict[str, str] = field(default_factory=dict)  # already gone
    moved: dict[str, str] = field(default_factory=dict)  # names another digest now: kept
    error: FloeError | None = None  # what stopped the deletions (those before it stand)


@dataclass
class RecordPublished:
    digest: str | None
    registries: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


@dataclass
class RegistryWriter:
    """Writes tags and records to the primary registry and its replicas."""

    registry: Registry
    replicas: Replication
    records: RecordWriter
    tracer: Tracer

    def write_tags(self, digest: str, manifest: Manifest, writes: Sequence[TagWrite],
                   after_each: Callable[[TagWrite, bool], None] | None = None) -> TagsWritten:
        """Write ``writes`` in order to the primary while the replicas copy and tag (FR-028).

        ``after_each(write, present)`` runs after each primary write (promote notes each
        tag for its completion commit and starts its record's upload). The replicas are
        joined even when the primary fails.
        """
        tags = [w.tag for w in writes]
        job = self.replicas.start(self.registry, digest, tags, manifest=manifest,
                                  immutable=[w.tag for w in writes if not w.mutable])
        present: dict[str, bool] = {}
        try:
            for write in writes:
                present[write.tag] = self._write_primary(digest, manifest, write)
                if after_each is not None:
                    after_each(write, present[write.tag])
        finally:
            replicas = job.wait()  # bounded
        registries = [{"uri": self.registry.uri, "status": "ok", "error": None, "tags": tags},
                      *replicas]
        return TagsWritten(tags, registries, present, replica_warnings(replicas))

    def prepare_record(self, digest: str, record: dict[str, Any]) -> object:
        """Start uploading ``record``'s content while other writes go on (nothing another
        process sees: a blob is invisible until a manifest names it); pass the result to
        :meth:`publish_record` with the same record."""
        return self.records.prepare(self.registry, digest, record)

    def publish_record(self, digest: str, record: dict[str, Any],
                       registries: Sequence[dict[str, Any]] = (), *,
                       prepared: object = None) -> RecordPublished:
        """Write ``record`` as a referrer of ``digest``; where replicas were written
        (``registries[1:]``), the record travels to them too."""
        record_digest = self.records.write(self.registry, digest, record, prepared=prepared)
        statuses = list(registries)
        if record_digest and len(statuses) > 1:
            replicas = self.replicas.push_companions(self.registry, digest, statuses[1:])
            statuses = [statuses[0], *replicas]
        return RecordPublished(record_digest, statuses, replica_warnings(statuses[1:]))

    def anchor_head(self, head: dict[str, Any], at: str, environments: Sequence[str]) -> None:
        """Write a record of the ledger's head (no subject) and make it this ledger's anchor
        in each environment's ``floe-<env>-index`` index: an auditor's witness that the ledger
        held at least this much at ``at``."""
        self.records.write(self.registry, "", {"kind": "head", "ledger_head": head,
                                               "anchored_at": at,
                                               "environments": list(environments)})

    def delete_tags(self, deletes: Sequence[TagDelete]) -> TagsDeleted:
        """Delete each tag from the primary while it still names its digest; never a
        manifest. Stops at the first error (returned, with what was deleted before it).

        After the first deletion of each digest its ``keeper`` must still name it: a
        registry that took the manifest (and its other tags) with the tag is stopped there
        (IntegrityError), and the keeper is written back from the bytes read before.
        """
        out = TagsDeleted()
        saved: dict[str, Manifest] = {}
        try:
            for d in deletes:
                current = self.registry.resolve(d.tag)
                if current is None or current.digest != d.digest:
                    (out.absent if current is None else out.moved)[d.tag] = (
                        d.digest if current is None else current.digest)
                    continue
                first = d.digest not in saved
                if first:
                    saved[d.digest] = self.registry.get_manifest(d.digest)
                with self.tracer.span(SPAN_TAG_DELETE, {"tag": d.tag,
                                                        "registry": self.registry.uri}):
                    gone = self.registry.delete_tag(d.tag)
                (out.deleted if gone else out.absent)[d.tag] = d.digest
                if first:
                    self._check_keeper(d, saved[d.digest])
        except FloeError as err:
            out.error = err
        return out

    def _check_keeper(self, d: TagDelete, manifest: Manifest) -> None:
        keeper = self.registry.resolve(d.keeper)
        if keeper is not None and keeper.digest == d.digest:
            return
        self.registry.put_manifest(d.keeper, manifest)
        raise IntegrityError(
            f"{self.registry.uri} removed more than tag {d.tag}: {d.keeper} no longer named "
            f"{d.digest} afterwards (floe wrote {d.keeper} back)",
            hint="this registry deletes the manifest (and its other tags) with a tag; do not "
            "run 'floe gc' on it, and check the digest's other tags ('floe audit verify "
            "--registry')", details={"tag": d.tag, "digest": d.digest, "keeper": d.keeper})

    def _write_primary(self, digest: str, manifest: Manifest, write: TagWrite) -> bool:
        """PUT the tag unless it already names the digest; returns whether it did already."""
        present = write.present
        if present is None:
            current = self.registry.resolve(write.tag)
            present = current is not None and current.digest == digest
            if current is not None and not present and not write.mutable:
                raise TagExistsError(
                    f"{write.tag} appeared pointing at {current.digest} while writing {digest}",
                    hint="immutable tags are never re-pointed",
                    details={"tag": write.tag, "existing_digest": current.digest})
        if not present:
            with self.tracer.span(SPAN_TAG_WRITE, {"tag": write.tag,
                                                   "registry": self.registry.uri}):
                self.registry.put_manifest(write.tag, manifest)
        return present


def head_anchor(registry: Registry, records: RecordWriter, clock: Clock,
                environments: Sequence[str]) -> Callable[[LedgerHead], None]:
    """The anchor an :class:`ArtifactSession` writes when its command ends, listed in the
    ``floe-<env>-index`` index of each environment the command acted on."""
    def anchor(head: LedgerHead) -> None:
        writer = RegistryWriter(registry, NoReplicas(), records, NoopTracer())
        writer.anchor_head(head.as_record(), clock.now().isoformat(), environments)
    return anchor


def replica_warnings(replicas: Sequence[dict[str, Any]]) -> list[str]:
    """FR-030: a replica that was not updated is a warning; the promotion stands."""
    return [f"replica {r.get('uri')} not updated: {r.get('error')} (run 'floe platform sync')"
            for r in replicas if r.get("status") != "ok"]

"""Promotion, rollback, lock, adoption and collection records in the registry, as OCI 1.1
referrers (FR-023, FR-025a).

This package owns the records floe writes next to an artifact: writing and reading them
(here: ``OciRecordWriter``, ``list_records``; :mod:`.listed` for what the environments'
indexes list), the
``dev.floe.*`` annotations they carry within their size budget (:mod:`.annotations`) and
each environment's index of what has no subject (:mod:`.environment`).

    writer = OciRecordWriter()
    digest = writer.write(registry, promoted_digest, {"kind": "promotion", ...})
    list_records(registry, promoted_digest)     # [RecordInfo(...)]

A record is an image manifest next to the artifact, never an edit of it (the
artifact's digest is unchanged): ``artifactType`` ``application/vnd.floe.<kind>.v1+json``,
the empty config, one layer holding the record JSON, ``subject`` = the artifact's
descriptor and ``dev.floe.*`` annotations (:mod:`.annotations`). It carries no tag: it is
found through the referrers API or the ``sha256-<hex>`` fallback index (entries other tools
wrote are kept), which also keeps it from garbage collection while its subject lives. What
has no subject (a lock on an environment that runs nothing, the ledger-head anchors) is
listed in the environment's ``floe-<env>-index`` index. A record is immutable (FR-026):
writing one whose id is already among its subject's referrers returns the existing record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.observability.redact import scrub
from floe_ledger.adapters.records.annotations import (
    LEDGER_HEAD,
    LEDGER_ID,
    LEDGER_STREAM,
    LEDGER_VERSION,
    LOCK_ID,
    annotations_for,
    fit,
)
from floe_ledger.adapters.records.environment import (
    add_anchor,
    entry,
    read_env_index,
    set_lock,
)
from floe_ledger.adapters.registry._common import TITLE, load_json
from floe_ledger.adapters.registry.artifacts import EMPTY_CONFIG, EMPTY_DESCRIPTOR
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError, UsageError
from floe_ledger.domain.model.oci import (
    OCI_EMPTY,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    sha256_digest,
    sorted_json,
)
from floe_ledger.domain.services.ports import Registry

log = get_logger("floe.records")

ARTIFACT_TYPES = {
    "promotion": "application/vnd.floe.promotion.v1+json",
    "rollback": "application/vnd.floe.rollback.v1+json",
    "lock": "application/vnd.floe.lock.v1+json",
    "adoption": "application/vnd.floe.adoption.v1+json",
    "head": "application/vnd.floe.head.v1+json",
    "collection": "application/vnd.floe.collection.v1+json",
}
KIND_OF_TYPE = {v: k for k, v in ARTIFACT_TYPES.items()}
FOLDED_KINDS = ("promotion", "rollback", "lock", "adoption")
"""The kinds other ledgers fold before deciding (heads and collections are for audits)."""
ID_NOTES = {"promotion": "dev.floe.promotion.id", "rollback": "dev.floe.rollback.id",
            "adoption": "dev.floe.adoption.id", "collection": "dev.floe.collection.id"}
TIME_FIELDS = {"promotion": "promoted_at", "rollback": "rolled_back_at", "lock": "locked_at",
               "adoption": "adopted_at", "head": "anchored_at", "collection": "collected_at"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RecordInfo:
    """A record found in the registry (from its descriptor or manifest)."""

    digest: str
    kind: str
    artifact_type: str
    annotations: dict[str, str] = field(default_factory=dict)
    subject: str = ""
    tag: str = ""

    @property
    def ledger_head(self) -> tuple[str, int, str] | None:
        """(artifact_id, version, hash) the record was written at, if it says."""
        a = self.annotations
        if not (a.get(LEDGER_STREAM) and a.get(LEDGER_VERSION, "").isdigit()
                and a.get(LEDGER_HEAD)):
            return None
        return a[LEDGER_STREAM], int(a[LEDGER_VERSION]), a[LEDGER_HEAD]

    def as_dict(self) -> dict[str, Any]:
        head = self.ledger_head
        return {"digest": self.digest, "kind": self.kind, "subject": self.subject,
                "tag": self.tag, "ledger_head": None if head is None else
                {"artifact_id": head[0], "version": head[1], "hash": head[2]}}


class OciRecordWriter:
    """The RecordWriter port: records as referrers of the digest they describe.

    Args:
        clock: the time for records that carry none.
    """

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self.clock = clock

    def write(self, registry: Registry, subject_digest: str, record: dict[str, Any]
              ) -> str | None:
        """Attach ``record`` to ``subject_digest``; returns the record manifest's digest.

        ``record["kind"]`` is ``promotion`` (default), ``rollback``, ``lock``, ``adoption``,
        ``collection`` or ``head``. A lock record also becomes the lock entry of
        ``floe-<env>-index``, so every ledger finds an environment's lock state; one whose
        environment runs nothing (``subject_digest`` empty) has no subject and is found
        there alone. A head anchor (no subject) becomes its ledger's entry in the index of
        each environment in ``record["environments"]``.
        """
        record = json.loads(json.dumps(record, default=str))
        kind = str(record.get("kind") or "promotion")
        if kind not in ARTIFACT_TYPES:
            raise UsageError(f"unknown record kind {kind!r}",
                             hint=f"use one of {', '.join(ARTIFACT_TYPES)}")
        if kind in ("lock", "head"):
            return self._write_listed(registry, subject_digest, kind, record)
        if not subject_digest:
            return None
        existing = self._existing(registry, subject_digest, kind, record)
        if existing is not None:
            return existing
        subject = registry.resolve(subject_digest)
        if subject is None:
            raise NotFoundError(f"cannot write a {kind} record: {subject_digest} is not in "
                                f"{registry.uri}", hint="check the digest the record describes")
        manifest = self.build(registry, subject, kind, record)
        registry.attach_referrer(subject_digest, manifest, ARTIFACT_TYPES[kind])
        return manifest.digest

    def _write_listed(self, registry: Registry, subject_digest: str, kind: str,
                      record: dict[str, Any]) -> str:
        """A lock record or head anchor, and its entry in the environments' indexes.

        A lock record whose id (its event's) is already there is kept: a lock killed
        before its record was published is published by running it again, never twice.
        """
        manifest = self._listed_lock(registry, subject_digest, record) if kind == "lock" \
            else None
        if manifest is None:
            subject = registry.resolve(subject_digest) if subject_digest else None
            manifest = self.build(registry, subject, kind, record)
            if subject is not None:
                registry.attach_referrer(subject.digest, manifest, ARTIFACT_TYPES[kind])
            else:
                registry.put_manifest(manifest.digest, manifest)
        notes = _object(load_json(manifest.data, "record"), "annotations", "record")
        listed = entry(manifest, ARTIFACT_TYPES[kind], {str(k): str(v) for k, v in notes.items()})
        if kind == "lock":
            set_lock(registry, str(record["environment"]), listed)
        else:
            for env in dict.fromkeys(record.get("environments") or []):
                add_anchor(registry, str(env), listed)
        return manifest.digest

    @staticmethod
    def _listed_lock(registry: Registry, subject_digest: str,
                     record: dict[str, Any]) -> Manifest | None:
        """The lock record of this ``lock_id`` an earlier run wrote: the one the
        environment's index names, else one among the subject's referrers."""
        ident = str(record.get("lock_id") or "")
        head = record.get("ledger_head")
        ledger = str(head.get("ledger_id") or "") if isinstance(head, dict) else ""
        if not ident:
            return None
        named = read_env_index(registry, str(record["environment"])).lock
        found = [named] if named is not None else []
        if subject_digest:
            found += registry.referrers(subject_digest, ARTIFACT_TYPES["lock"])
        for desc in found:
            if desc.annotations.get(LOCK_ID) == ident and desc.annotations.get(
                    LEDGER_ID, ledger) == ledger:  # this ledger's, never another's
                return registry.get_manifest(desc.digest)
        return None

    @staticmethod
    def _existing(registry: Registry, subject: str, kind: str,
                  record: dict[str, Any]) -> str | None:
        """The record of the same id already among the subject's referrers (an earlier,
        interrupted run wrote it): records are immutable, the first one stands."""
        ident = str(record.get(f"{kind}_id") or "")
        if not ident:
            return None
        for found in registry.referrers(subject, ARTIFACT_TYPES[kind]):
            if found.annotations.get(ID_NOTES[kind]) == ident:
                return found.digest
        return None

    def build(self, registry: Registry, subject: Descriptor | None, kind: str,
              record: dict[str, Any]) -> Manifest:
        """Upload the record layer and return its (not yet stored) referrer manifest."""
        created = str(record.get(TIME_FIELDS[kind]) or _iso(self.clock()))
        document = record_document(kind, record, subject.digest if subject else "", created)
        layer = sorted_json(document)
        artifact_type = ARTIFACT_TYPES[kind]
        registry.put_blob(EMPTY_CONFIG, OCI_EMPTY)
        registry.put_blob(layer, artifact_type)
        annotations, cut = fit(annotations_for(kind, document, created))
        if cut:
            log.warning("record.annotations_truncated", kind=kind, keys=cut)
        doc = {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
            "config": EMPTY_DESCRIPTOR,
            "layers": [{"mediaType": artifact_type, "digest": sha256_digest(layer),
                        "size": len(layer), "annotations": {TITLE: f"{kind}.json"}}],
            "annotations": annotations,
        }
        if subject is not None:
            doc["subject"] = {"mediaType": subject.media_type, "digest": subject.digest,
                              "size": subject.size}
        data = sorted_json(doc)
        return Manifest(sha256_digest(data), OCI_MANIFEST, data)


GATE_FIELDS = ("gate", "status", "duration_ms")
ERROR_SUMMARY = 300
"""Characters of a gate's error a record keeps."""


def record_gate(result: Any) -> dict[str, Any]:
    """A gate result as a record carries it: name, status, duration and a scrubbed error
    summary; never output tails or other details (§9: anyone who can pull reads it)."""
    if not isinstance(result, dict):
        return {"gate": "?", "status": "?"}
    out = {k: result[k] for k in GATE_FIELDS if k in result}
    if result.get("error"):
        error = scrub(str(result["error"]))
        out["error"] = error if len(error) <= ERROR_SUMMARY else error[:ERROR_SUMMARY] + "…"
    return out


def record_document(kind: str, record: dict[str, Any], subject: str,
                    created: str) -> dict[str, Any]:
    """The layer: the record plus the FR-027 field names, its kind and its time.

    Gate results are summarised by :func:`record_gate`.
    """
    doc = {"schema": f"dev.floe.{kind}.v1", "kind": kind, "artifact_digest": subject,
           "timestamp": created, **record}
    if isinstance(record.get("gate_results"), list):
        doc["gate_results"] = [record_gate(g) for g in record["gate_results"]]
    doc.setdefault(TIME_FIELDS[kind], created)
    signature = record.get("signature")
    if kind == "promotion" and isinstance(signature, dict):
        doc.setdefault("signature_status", signature.get("status"))
    return doc


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- reading -----------------------------------------------------------------------------

def list_records(registry: Registry, digest: str) -> list[RecordInfo]:
    """floe's records that name ``digest`` as their subject (referrers API or fallback)."""
    return [RecordInfo(d.digest, KIND_OF_TYPE[d.artifact_type or ""], d.artifact_type or "",
                       dict(d.annotations), digest)
            for d in registry.referrers(digest) if d.artifact_type in KIND_OF_TYPE]


def read_record(registry: Registry, record_digest: str) -> dict[str, Any]:
    """The full record (the JSON layer) of a record manifest."""
    doc = load_json(registry.get_manifest(record_digest).data, f"record {record_digest}")
    layers = doc.get("layers") or []
    if not isinstance(layers, list) or not layers or not isinstance(layers[0], dict):
        raise NotFoundError(f"record {record_digest} has no layer", hint="it is not a floe record")
    return load_json(registry.get_blob(str(layers[0].get("digest"))), f"record {record_digest}")


def _object(doc: dict[str, Any], key: str, what: str) -> dict[str, Any]:
    """``doc[key]`` when it is a JSON object ({} when absent); IntegrityError otherwise."""
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise IntegrityError(f"{what}: its {key} is not a JSON object",
                             hint="inspect it in the registry; floe never writes such a record")
    return value

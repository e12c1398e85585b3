"""Promotion, rollback and lock records in the registry, as OCI 1.1 referrers (FR-023, FR-025a).

This package owns the records floe writes next to an artifact: writing and reading them
(here: ``OciRecordWriter``, ``list_records``, ``tagged_records``) and the ``dev.floe.*``
annotations they carry within their size budget (:mod:`.annotations`).

    writer = OciRecordWriter()
    digest = writer.write(registry, promoted_digest, {"kind": "promotion", ...})
    list_records(registry, promoted_digest)     # [RecordInfo(...)]

A record is an image manifest next to the artifact, never an edit of it (the
artifact's digest is unchanged): ``artifactType`` ``application/vnd.floe.<kind>.v1+json``,
the empty config, one layer holding the record JSON, ``subject`` = the artifact's
descriptor and ``dev.floe.*`` annotations (:mod:`.annotations`). It is found
through the referrers API or the ``sha256-<hex>`` fallback index (entries other tools
wrote are kept) and carries a tag of its own, ``floe-record-<short id>``, so garbage
collection keeps it. A record is immutable (FR-026): writing one whose tag exists
returns the existing record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.observability.redact import scrub
from floe_ledger.adapters.records.annotations import (
    LEDGER_HEAD,
    LEDGER_STREAM,
    LEDGER_VERSION,
    annotations_for,
    fit,
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
from floe_ledger.domain.model.values import lock_record_tag
from floe_ledger.domain.services.ports import Registry

log = get_logger("floe.records")

ARTIFACT_TYPES = {
    "promotion": "application/vnd.floe.promotion.v1+json",
    "rollback": "application/vnd.floe.rollback.v1+json",
    "lock": "application/vnd.floe.lock.v1+json",
    "adoption": "application/vnd.floe.adoption.v1+json",
    "head": "application/vnd.floe.head.v1+json",
}
KIND_OF_TYPE = {v: k for k, v in ARTIFACT_TYPES.items()}
TAG_PREFIX = "floe-record-"
ID_FIELDS = {"promotion": "promotion_id", "rollback": "rollback_id", "lock": "lock_id",
             "adoption": "adoption_id", "head": "anchored_at"}
TIME_FIELDS = {"promotion": "promoted_at", "rollback": "rolled_back_at", "lock": "locked_at",
               "adoption": "adopted_at", "head": "anchored_at"}
HEAD_TAG_PREFIX = "floe-head-"


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

        ``record["kind"]`` is ``promotion`` (default), ``rollback``, ``lock`` or
        ``adoption``. A lock record also moves ``floe-lock-<env>`` to itself, so every ledger
        finds an environment's lock state; one whose environment runs nothing
        (``subject_digest`` empty) has no subject and is found by that tag alone.
        """
        record = json.loads(json.dumps(record, default=str))
        kind = str(record.get("kind") or "promotion")
        if kind not in ARTIFACT_TYPES:
            raise UsageError(f"unknown record kind {kind!r}",
                             hint=f"use one of {', '.join(ARTIFACT_TYPES)}")
        if kind == "lock":
            return self._write_lock(registry, subject_digest, record)
        if kind == "head":
            manifest = self.build(registry, None, "head", record)
            ledger = str((record.get("ledger_head") or {}).get("ledger_id") or "unknown")
            registry.put_manifest(HEAD_TAG_PREFIX + ledger, manifest)
            return manifest.digest
        if not subject_digest:
            return None
        tag = record_tag(kind, record)
        existing = registry.resolve(tag)
        if existing is not None:
            self._ensure_attached(registry, subject_digest, existing.digest, ARTIFACT_TYPES[kind])
            return existing.digest
        subject = registry.resolve(subject_digest)
        if subject is None:
            raise NotFoundError(f"cannot write a {kind} record: {subject_digest} is not in "
                                f"{registry.uri}", hint="check the digest the record describes")
        manifest = self.build(registry, subject, kind, record)
        # The tag first: a run interrupted after it finds this record above and only makes
        # it discoverable; one interrupted after the referrers index but before the tag
        # would write a second record of the same promotion on its re-run (FR-026).
        registry.put_manifest(tag, manifest)
        registry.attach_referrer(subject_digest, manifest, ARTIFACT_TYPES[kind])
        return manifest.digest

    def _write_lock(self, registry: Registry, subject_digest: str,
                    record: dict[str, Any]) -> str:
        """The record (kept if an earlier run wrote it), then ``floe-lock-<env>`` to it."""
        tag, kind = record_tag("lock", record), ARTIFACT_TYPES["lock"]
        existing = registry.resolve(tag)
        if existing is not None:
            manifest = registry.get_manifest(existing.digest)
            said = load_json(manifest.data, f"record {tag}").get("subject") or {}
            if said.get("digest"):
                self._ensure_attached(registry, str(said["digest"]), manifest.digest, kind)
        else:
            subject = registry.resolve(subject_digest) if subject_digest else None
            manifest = self.build(registry, subject, "lock", record)
            registry.put_manifest(tag, manifest)  # first: see write()
            if subject is not None:
                registry.attach_referrer(subject.digest, manifest, kind)
        registry.put_manifest(lock_record_tag(str(record["environment"])), manifest)
        return manifest.digest

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

    @staticmethod
    def _ensure_attached(registry: Registry, subject: str, digest: str,
                         artifact_type: str) -> None:
        """A record tagged by an earlier, interrupted run is made discoverable too."""
        if any(d.digest == digest for d in registry.referrers(subject, artifact_type)):
            return
        manifest = registry.get_manifest(digest)
        if _object(load_json(manifest.data, f"record {digest}"), "subject",
                   f"record {digest}").get("digest") == subject:
            registry.attach_referrer(subject, manifest, artifact_type)


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


def record_tag(kind: str, record: dict[str, Any]) -> str:
    """``floe-record-<12 hex>``: from the record's id, else from its content."""
    ident = str(record.get(ID_FIELDS[kind]) or "").replace("-", "").lower()
    if not ident.isalnum() or len(ident) < 12:
        ident = hashlib.sha256(sorted_json({"kind": kind, **record})).hexdigest()
    return TAG_PREFIX + ident[:12]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- reading -----------------------------------------------------------------------------

def list_records(registry: Registry, digest: str) -> list[RecordInfo]:
    """floe's records that name ``digest`` as their subject (referrers API or fallback)."""
    return [RecordInfo(d.digest, KIND_OF_TYPE[d.artifact_type or ""], d.artifact_type or "",
                       dict(d.annotations), digest)
            for d in registry.referrers(digest) if d.artifact_type in KIND_OF_TYPE]


def tagged_records(registry: Registry) -> list[RecordInfo]:
    """Every record reachable through a ``floe-record-*`` tag (ledger-independent)."""
    found = []
    for tag in registry.list_tags():
        if not tag.startswith(TAG_PREFIX):
            continue
        manifest = registry.get_manifest(tag)
        doc = load_json(manifest.data, f"record {tag}")
        artifact_type = str(doc.get("artifactType", ""))
        if artifact_type not in KIND_OF_TYPE:
            continue
        what = f"record {tag}"
        subject = str(_object(doc, "subject", what).get("digest") or "")  # none: a lock
        notes = {str(k): str(v) for k, v in _object(doc, "annotations", what).items()}
        found.append(RecordInfo(manifest.digest, KIND_OF_TYPE[artifact_type], artifact_type,
                                notes, subject, tag))
    return found


def head_record(registry: Registry, ledger_id: str) -> RecordInfo | None:
    """The newest head anchor of a ledger (``floe-head-<ledger id>``), if it wrote one."""
    tag = HEAD_TAG_PREFIX + ledger_id
    if registry.resolve(tag) is None:
        return None
    manifest = registry.get_manifest(tag)
    doc = load_json(manifest.data, f"record {tag}")
    notes = {str(k): str(v) for k, v in _object(doc, "annotations", f"record {tag}").items()}
    return RecordInfo(manifest.digest, "head", ARTIFACT_TYPES["head"], notes, "", tag)


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

"""Reading other ledgers' records back from the registry, verified before they are trusted.

    scan = OciRecordReader().scan(registry, ["v1.2.3-staging", "floe-prod-index"],
                                  known=artifact.observed, ledger_id=artifact.ledger_id)

Each tag given is resolved once. An environment or release tag leads to the records that
are referrers of the digest it names (the referrers API or the ``sha256-<hex>`` fallback
index: one request either way); a ``floe-<env>-index`` index is read in one request and names
the environment's newest lock record. Records already folded (``known``) or written by this
ledger (``ledger_id``, read from the referrer's or index entry's annotations) are not
fetched; head anchors and collection records are not folded (audits read them). Every other record
costs two requests (manifest and layer) and is verified: a well-formed floe record of a
known kind, its layer's digest, its subject the digest it was found under, its annotations
agreeing with its content, and a ledger id. One that fails is returned as rejected, with
the reason, and never folded.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from floe_ledger.adapters.records import ARTIFACT_TYPES, FOLDED_KINDS, KIND_OF_TYPE
from floe_ledger.adapters.records.annotations import LEDGER_ID
from floe_ledger.adapters.records.document import TIME_FIELDS
from floe_ledger.adapters.records.environment import read_env_index
from floe_ledger.adapters.registry._common import load_json
from floe_ledger.adapters.system.parallel import each
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.model.oci import Descriptor
from floe_ledger.domain.model.records import ObservedRecord, RecordScan, RejectedRecord
from floe_ledger.domain.model.values import env_of_index, is_env_index
from floe_ledger.domain.services.ports import Registry

FOLDED_TYPES = frozenset(ARTIFACT_TYPES[k] for k in FOLDED_KINDS)
# Annotation (name under dev.floe.<kind>.) that must agree with the record's content.
_AGREE = {
    "promotion": {"id": "promotion_id", "operator": "operator", "target-env":
                  "target_environment", "version": "version"},
    "rollback": {"id": "rollback_id", "operator": "operator", "environment": "environment",
                 "version": "version"},
    "lock": {"id": "lock_id", "status": "status", "locked-by": "operator",
             "unlocked-by": "operator",
             "environment": "environment"},
    "adoption": {"id": "adoption_id", "operator": "operator", "environment": "environment",
                 "version": "version"},
    "collection": {"id": "collection_id", "operator": "operator", "version": "version"},
    "head": {},
}


class InvalidRecord(ValueError):
    """Why a record cannot be trusted."""


class OciRecordReader:
    """The RecordReader port over an OCI registry.

    Independent reads go out at once (a remote registry's round trips overlap): every tag,
    then the referrers of every digest they name, then the records to verify.
    """

    def scan(self, registry: Registry, tags: Sequence[str], *, known: Collection[str] = (),
             ledger_id: str = "", also: Sequence[str] = ()) -> RecordScan:
        scan = RecordScan()
        wanted = list(dict.fromkeys(tags))
        only = [t for t in dict.fromkeys(also) if t not in wanted]  # resolved, not scanned
        scan.round_trips += len(wanted) + len(only)
        found = each(lambda tag: self._read_tag(registry, tag), [*wanted, *only])
        for tag, (resolved, _) in zip(only, found[len(wanted):], strict=True):
            scan.resolved[tag] = resolved
        found = found[:len(wanted)]
        subjects: list[str] = []
        for tag, (resolved, _) in zip(wanted, found, strict=True):
            scan.resolved[tag] = resolved
            if not is_env_index(tag) and resolved is not None \
                    and resolved.digest not in subjects:
                subjects.append(resolved.digest)
        scan.round_trips += len(subjects)
        listed = dict(zip(subjects, each(
            lambda digest: self._others(registry, digest, ledger_id), subjects), strict=True))
        todo: list[tuple[str, str | None, str]] = []  # (record, subject, tag) in tag order
        for tag, (resolved, lock) in zip(wanted, found, strict=True):
            candidates: list[tuple[str, str | None]]
            if is_env_index(tag):
                candidates = [] if lock is None else [(lock.digest, None)]
            elif resolved is not None and resolved.digest in listed:
                candidates = listed.pop(resolved.digest)
            else:
                candidates = []
            for digest, subject in candidates:
                if digest not in known and digest not in scan.seen:
                    scan.seen.add(digest)
                    todo.append((digest, subject, tag))
        scan.round_trips += 2 * len(todo)
        checked = each(lambda item: _outcome(registry, item[0], item[1]), todo)
        for (digest, subject, tag), outcome in zip(todo, checked, strict=True):
            record = self._keep(scan, digest, outcome, ledger_id)
            if record is not None and subject is None:
                scan.lock_records[tag] = record
        return scan

    @staticmethod
    def _read_tag(registry: Registry, tag: str) -> tuple[Descriptor | None, Descriptor | None]:
        """What ``tag`` names, and for a ``floe-<env>-index`` the lock record it lists (this
        ledger's too: read, never folded, so a lock this ledger saved but never published
        shows)."""
        if is_env_index(tag):
            index = read_env_index(registry, env_of_index(tag))
            return index.descriptor, index.lock
        return registry.resolve(tag), None

    @staticmethod
    def _others(registry: Registry, digest: str,
                ledger_id: str) -> list[tuple[str, str | None]]:
        """The other ledgers' records that are referrers of ``digest``."""
        return [(d.digest, digest) for d in registry.referrers(digest)
                if d.artifact_type in FOLDED_TYPES
                and not (ledger_id and d.annotations.get(LEDGER_ID) == ledger_id)]

    @staticmethod
    def _keep(scan: RecordScan, digest: str, outcome: CheckedRecord | Exception,
              ledger_id: str) -> ObservedRecord | None:
        try:
            if isinstance(outcome, Exception):
                raise outcome
            record = observed(outcome)
        except (InvalidRecord, FloeError) as err:
            scan.rejected.append(RejectedRecord(digest, str(err)))
            return None
        if record.ledger_id != ledger_id:
            scan.records.append(record)
        return record


def _outcome(registry: Registry, digest: str,
             subject: str | None) -> CheckedRecord | Exception:
    """The checked record, or why it cannot be trusted (kept to be reported in order)."""
    try:
        return check_record(registry, digest, subject)
    except (InvalidRecord, FloeError) as err:
        return err


@dataclass(frozen=True)
class CheckedRecord:
    """A record whose manifest, layer and annotations agree (two requests to know)."""

    digest: str
    kind: str
    subject: str
    annotations: dict[str, str]
    content: dict[str, Any]


def check_record(registry: Registry, digest: str, subject: str | None) -> CheckedRecord:
    """Read and check one record; InvalidRecord says why it cannot be trusted.

    ``subject``: the digest it was found under as a referrer (None: found by a tag)."""
    doc = load_json(registry.get_manifest(digest).data, f"record {digest}")
    kind = KIND_OF_TYPE.get(str(doc.get("artifactType", "")))
    layers = doc.get("layers") or []
    if kind is None or not isinstance(layers, list) or not layers or not isinstance(
            layers[0], dict):
        raise InvalidRecord("not a floe record (unknown artifactType or no layer)")
    content = load_json(registry.get_blob(str(layers[0].get("digest"))), f"record {digest}")
    named = doc.get("subject") or {}
    said = str(named.get("digest", "")) if isinstance(named, dict) else ""
    if subject is not None and said != subject:
        raise InvalidRecord(f"its subject is {said or 'missing'}, not {subject}")
    if content.get("schema") != f"dev.floe.{kind}.v1" or content.get("kind") != kind:
        raise InvalidRecord(f"its content is not a dev.floe.{kind}.v1 record")
    if str(content.get("artifact_digest", "")) != said:
        raise InvalidRecord("its content names another artifact than its subject")
    raw = doc.get("annotations") or {}
    if not isinstance(raw, dict):
        raise InvalidRecord("its annotations are not a JSON object")
    notes = {str(k): str(v) for k, v in raw.items()}
    for name, field in _AGREE[kind].items():
        note = notes.get(f"dev.floe.{kind}.{name}")
        if note is not None and note != str(content.get(field) or ""):
            raise InvalidRecord(f"annotation dev.floe.{kind}.{name} says {note!r}, its content "
                                f"says {content.get(field)!r}: edited after it was written")
    return CheckedRecord(digest, kind, said, notes, content)


def observed(checked: CheckedRecord) -> ObservedRecord:
    """What a checked record says, as the ledger folds it; InvalidRecord if it lacks a
    field folding needs (a ledger id, its environment, operator or version)."""
    kind, digest, subject, notes, c = (checked.kind, checked.digest, checked.subject,
                                       checked.annotations, checked.content)
    head = c.get("ledger_head")
    ledger = str(head.get("ledger_id") or "") if isinstance(head, dict) else ""
    if not ledger or notes.get(LEDGER_ID, ledger) != ledger:
        raise InvalidRecord("it names no ledger id (written by a floe before ledger ids)")
    env = str(c.get("target_environment") if kind == "promotion" else c.get("environment") or "")
    ident = str(c.get(f"{kind}_id") or digest)
    if not env or not c.get("operator") or (kind != "lock" and not c.get("version")):
        raise InvalidRecord("it lacks its environment, operator or version")
    sequence = c.get("sequence")
    return ObservedRecord(
        digest=digest, kind=kind, ledger_id=ledger, record_id=ident, subject_digest=subject,
        environment=env, operator=str(c["operator"]), at=_time(c.get(TIME_FIELDS[kind])),
        version=str(c["version"]) if c.get("version") else None,
        source_environment=str(c["source_environment"]) if c.get("source_environment")
        else None,
        status=str(c.get("status") or "locked") if kind == "lock" else None,
        reason=str(c.get("reason") or ""), sequence=sequence if isinstance(sequence, int) else None,
        identified_by=str(c["identified_by"]) if c.get("identified_by") else None)


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(f"its time {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidRecord(f"its time {value!r} has no time zone")
    return moment

"""Archive objects from the ledger: event batches and signed checkpoints, with derived keys.

    obj = events_object(rows)        # rows: RawEvent, as stored, in notification order
    obj.key  == "events/0000000000000001-0000000000000006-<sha256 of the body, 16 hex>.jsonl"
    for line in read_events(body):   # {"position", "artifact_id", "version", "hash", ...}

A batch's body is JSON Lines in the ``floe audit export --format jsonl`` format (every
event as stored, with its recomputed chain hash), so an auditor can feed an archived batch
to ``floe audit verify --export``. Keys depend only on the positions and the bytes: the
same batch is always the same object, and two different ledgers never share a key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import rfc8785

from floe_ledger.adapters.audit.export import line_of
from floe_ledger.domain.services.audit_sinks import CHECKPOINT, EVENTS, ArchiveObject
from floe_ledger.projections.audit import RawEvent

PREFIXES = {EVENTS: "events/", CHECKPOINT: "checkpoints/"}


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def events_object(rows: Iterable[RawEvent]) -> ArchiveObject:
    """One batch of events (at least one), as stored, in ledger order."""
    batch = list(rows)
    if not batch:
        raise ValueError("an event batch needs at least one event")
    body = "".join(json.dumps(line_of(raw), separators=(",", ":"), ensure_ascii=False) + "\n"
                   for raw in batch).encode()
    digest = _digest(body)
    first, last = batch[0].position, batch[-1].position
    key = f"{PREFIXES[EVENTS]}{first:016d}-{last:016d}-{digest[:16]}.jsonl"
    return ArchiveObject(key, EVENTS, body, digest, first, last)


def checkpoint_object(doc: Mapping[str, Any]) -> ArchiveObject:
    """A signed checkpoint document (``floe audit checkpoint``), in canonical JSON."""
    body = rfc8785.dumps(dict(doc))
    digest = _digest(body)
    created = str(doc.get("payload", {}).get("created_at", ""))
    stamp = "".join(ch for ch in created if ch.isdigit())[:14] or "0"
    return ArchiveObject(f"{PREFIXES[CHECKPOINT]}{stamp}-{digest[:16]}.json", CHECKPOINT,
                         body, digest)


def key_digest(key: str) -> str:
    """The body digest prefix a key names (the part after the last ``-``)."""
    return key.rsplit("-", 1)[-1].split(".", 1)[0]


def read_events(body: bytes) -> Iterator[dict[str, Any]]:
    """The archived events of a batch body, one dict a line.

    Raises:
        ValueError: a line is not a JSON object with position, artifact_id, version, hash.
    """
    for number, line in enumerate(body.decode().splitlines(), 1):
        if not line.strip():
            continue
        item = json.loads(line)
        if not isinstance(item, dict) or not {"position", "artifact_id", "version",
                                              "hash"} <= item.keys():
            raise ValueError(f"line {number} is not an archived event")
        yield item

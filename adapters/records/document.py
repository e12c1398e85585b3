"""The layer of a record: the record itself plus the FR-027 field names, its kind and time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from floe_ledger.adapters.observability.redact import scrub

TIME_FIELDS = {"promotion": "promoted_at", "rollback": "rolled_back_at", "lock": "locked_at",
               "adoption": "adopted_at", "head": "anchored_at", "collection": "collected_at"}
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


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

"""The ``dev.floe.*`` annotations of a registry record (ANN-01..16, docs/events.md#annotations).

Annotations let ``oras discover`` and the fallback index show a record without
fetching its layer, so they carry the key fields only; the layer holds the whole
record. Together they stay under a 64 KB budget (NFR-005): long free-text values are
cut first, core fields (ids, environments, operator, times, the ledger head) never,
and a cut record is marked ``dev.floe.truncated: "true"``.
"""

from __future__ import annotations

import json
import re
from typing import Any

BUDGET = 64 * 1024
MAX_VALUE = 8 * 1024
ELLIPSIS = "…"
CREATED = "org.opencontainers.image.created"
KIND = "dev.floe.record.kind"
TRUNCATED = "dev.floe.truncated"
TRUNCATED_KEYS = "dev.floe.truncated-keys"
LEDGER_STREAM = "dev.floe.ledger.artifact-id"
LEDGER_ID = "dev.floe.ledger.id"
LEDGER_VERSION = "dev.floe.ledger.version"
LEDGER_HEAD = "dev.floe.ledger.head"

P, R, L = "dev.floe.promotion.", "dev.floe.rollback.", "dev.floe.lock."
A = "dev.floe.adoption."
C = "dev.floe.collection."
LOCK_ID = L + "id"
CORE = frozenset({
    CREATED, KIND, LEDGER_STREAM, LEDGER_ID, LEDGER_VERSION, LEDGER_HEAD,
    P + "id", P + "source-env", P + "target-env", P + "operator", P + "promoted-at",
    P + "version",
    R + "id", R + "operator", R + "rolled-back-at", R + "previous-digest", R + "environment",
    R + "version",
    L + "id", L + "status", L + "locked-by", L + "locked-at", L + "unlocked-by",
    L + "unlocked-at", L + "environment",
    A + "id", A + "operator", A + "adopted-at", A + "environment", A + "version",
    C + "id", C + "operator", C + "collected-at", C + "version",
})


def annotations_for(kind: str, record: dict[str, Any], created: str) -> dict[str, str]:
    """Every annotation of a record of ``kind`` (promotion, rollback or lock), unbudgeted."""
    builders = {"promotion": _promotion, "rollback": _rollback, "lock": _lock,
                "adoption": _adoption, "head": _head, "collection": _collection}
    notes = {CREATED: created, KIND: kind, **builders[kind](record, created)}
    notes.update(_ledger_head(record.get("ledger_head")))
    notes.update(_signature(record.get("signature")))
    return {k: v for k, v in notes.items() if v is not None}


def _promotion(r: dict[str, Any], created: str) -> dict[str, str | None]:
    return {
        P + "id": _s(r.get("promotion_id")),                          # ANN-01
        P + "source-env": _s(r.get("source_environment")),            # ANN-02
        P + "target-env": _s(r.get("target_environment")),            # ANN-03
        P + "operator": _s(r.get("operator")),                        # ANN-04
        P + "promoted-at": _s(r.get("promoted_at") or created),       # ANN-05
        P + "gates-passed": gates_summary(r.get("gate_results") or []),  # ANN-06
        P + "version": _s(r.get("version")),
        P + "tags": ",".join(str(t) for t in r.get("tags") or []),
        P + "trace-id": _s(r.get("trace_id")),
    }


def _rollback(r: dict[str, Any], created: str) -> dict[str, str | None]:
    return {
        R + "id": _s(r.get("rollback_id")),                           # ANN-07
        R + "reason": _s(r.get("reason")),                            # ANN-08
        R + "operator": _s(r.get("operator")),                        # ANN-09
        R + "rolled-back-at": _s(r.get("rolled_back_at") or created),  # ANN-10
        R + "previous-digest": _s(r.get("previous_digest")),          # ANN-11
        R + "environment": _s(r.get("environment")),
        R + "version": _s(r.get("version")),
        R + "previous-version": _s(r.get("previous_version")),
        R + "tag": _s(r.get("rollback_tag")),
    }


def _lock(r: dict[str, Any], created: str) -> dict[str, str | None]:
    """A lock names who locked it and when (ANN-14, ANN-15); an unlock, who unlocked it and
    when, under ``unlocked-by`` and ``unlocked-at``."""
    status = str(r.get("status") or "locked")
    verb = "unlocked" if status == "unlocked" else "locked"
    return {
        LOCK_ID: _s(r.get("lock_id")),
        L + "status": status,                                         # ANN-12
        L + "reason": _s(r.get("reason")),                            # ANN-13
        L + f"{verb}-by": _s(r.get(f"{verb}_by") or r.get("operator")),  # ANN-14
        L + f"{verb}-at": _s(r.get(f"{verb}_at") or r.get("locked_at") or created),  # ANN-15
        L + "environment": _s(r.get("environment")),
    }


def _adoption(r: dict[str, Any], created: str) -> dict[str, str | None]:
    return {
        A + "id": _s(r.get("adoption_id")),
        A + "operator": _s(r.get("operator")),
        A + "adopted-at": _s(r.get("adopted_at") or created),
        A + "environment": _s(r.get("environment")),
        A + "version": _s(r.get("version")),
        A + "reason": _s(r.get("reason")),
    }


def _collection(r: dict[str, Any], created: str) -> dict[str, str | None]:
    """``floe gc``: the tags of one version it deleted (the record's subject)."""
    return {
        C + "id": _s(r.get("collection_id")),
        C + "operator": _s(r.get("operator")),
        C + "collected-at": _s(r.get("collected_at") or created),
        C + "version": _s(r.get("version")),
        C + "keep": _s(r.get("keep")),
        C + "tags": ",".join(str(t) for t in r.get("tags") or []),
    }


def _head(r: dict[str, Any], created: str) -> dict[str, str | None]:
    """A head record carries only the ledger head (below)."""
    return {}


def _ledger_head(head: Any) -> dict[str, str]:
    if not isinstance(head, dict):
        return {}
    return {LEDGER_STREAM: str(head.get("artifact_id", "")),
            LEDGER_ID: str(head.get("ledger_id", "")),
            LEDGER_VERSION: str(head.get("version", "")), LEDGER_HEAD: str(head.get("hash", ""))}


def _signature(verdict: Any) -> dict[str, str]:
    """ANN-16: the scalar facts of the signature verdict as ``dev.floe.signature.<key>``."""
    if not isinstance(verdict, dict):
        return {}
    out = {}
    for key, value in verdict.items():
        if isinstance(value, (str, int, float, bool)) and value != "":
            name = re.sub(r"[^a-z0-9.-]", "-", str(key).lower().replace("_", "-"))
            out[f"dev.floe.signature.{name}"] = str(value).lower() if isinstance(
                value, bool) else str(value)
    return out


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def gates_summary(results: list[Any]) -> str:
    """``2/3 passed: policy=passed, trivy=failed, tests=passed`` (or ``none``); a warning
    passes, a skipped gate did not run and is not counted as passed."""
    gates = [g for g in results if isinstance(g, dict)]
    if not gates:
        return "none"
    ok = sum(1 for g in gates if g.get("status") in ("passed", "warning"))
    detail = ", ".join(f"{g.get('gate', '?')}={g.get('status', '?')}" for g in gates)
    return f"{ok}/{len(gates)} passed: {detail}"


# ---- budget -------------------------------------------------------------------------------

def size_of(annotations: dict[str, str]) -> int:
    """Bytes the annotations take as compact UTF-8 JSON."""
    return len(json.dumps(annotations, separators=(",", ":"), ensure_ascii=False).encode())


def cut(value: str, max_bytes: int) -> str:
    """``value`` cut to at most ``max_bytes`` UTF-8 bytes, ending in an ellipsis if cut."""
    data = value.encode()
    if len(data) <= max_bytes:
        return value
    room = max(0, max_bytes - len(ELLIPSIS.encode()))
    return data[:room].decode(errors="ignore") + ELLIPSIS


def fit(annotations: dict[str, str], budget: int = BUDGET,
        core: frozenset[str] = CORE) -> tuple[dict[str, str], list[str]]:
    """Annotations that fit ``budget`` bytes, and the keys that were cut or dropped.

    Every non-core value is first capped at MAX_VALUE bytes; while the total is over
    budget the largest non-core value is cut further (dropped when nothing is left).
    Core values are capped at MAX_VALUE only.
    """
    out = {k: cut(v, MAX_VALUE) for k, v in annotations.items()}
    touched = {k for k in out if out[k] != annotations[k]}
    reserve = size_of({TRUNCATED: "true", TRUNCATED_KEYS: ",".join(sorted(out))})
    while size_of(out) + reserve > budget:
        loose = [k for k in out if k not in core]
        if not loose:
            break
        key = max(loose, key=lambda k: len(out[k].encode()))
        over = size_of(out) + reserve - budget
        keep = len(out[key].encode()) - over - len(ELLIPSIS.encode())
        touched.add(key)
        if keep <= 0:
            del out[key]
        else:
            out[key] = cut(out[key], keep)
    if touched:
        out[TRUNCATED] = "true"
        out[TRUNCATED_KEYS] = ",".join(sorted(touched))
    return out, sorted(touched)

"""What a promotion is asked to do, and what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PromoteRequest:
    version: str
    source: str | None
    target: str
    force: bool = False
    dry_run: bool = False
    use_cache: bool = True
    break_glass: str | None = None


@dataclass
class PromoteResult:
    promotion_id: str
    version: str
    digest: str
    artifact_tag: str
    source: str | None
    target: str
    tags: list[str] = field(default_factory=list)
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    registries: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    resumed: bool = False
    nothing_written: bool = False
    blocking: list[dict[str, Any]] = field(default_factory=list)
    record_digest: str | None = None
    pending_tag: tuple[str, bool] | None = field(default=None, repr=False)
    estimate: dict[str, Any] = field(default_factory=dict)
    pending_signature: dict[str, Any] | None = field(default=None, repr=False)
    target_state: str | None = field(default=None, repr=False)


def estimate_gates(history: dict[str, list[int]], gates: list[str]) -> dict[str, Any]:
    """How long the gates should take, from their past runs in the ledger (US2 AS1).

    Gates run in parallel, so the estimate is the slowest gate's median; a gate that
    never ran has no estimate, and says so.
    """
    per_gate: dict[str, int | None] = {}
    for gate in gates:
        past = sorted(history.get(gate, []))
        per_gate[gate] = past[len(past) // 2] if past else None
    known = [ms for ms in per_gate.values() if ms is not None]
    return {"gates": per_gate, "estimated_ms": max(known) if known else None,
            "runs": sum(len(history.get(g, [])) for g in gates),
            "unknown": [g for g, ms in per_gate.items() if ms is None]}

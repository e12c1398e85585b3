"""What each use case is asked to do (requests) and what it did (results), as the CLI sees them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from floe_ledger.domain.model.gate_results import GateResult


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
    gate_results: list[GateResult] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    registries: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    resumed: bool = False
    nothing_written: bool = False
    blocking: list[dict[str, Any]] = field(default_factory=list)
    record_digest: str | None = None
    estimate: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RollbackRequest:
    """``force`` overrides a BLOCKED impact analysis (and confirms); ``yes`` confirms a
    RISKY one; else ``confirm`` is asked, with the analysis (a person on a terminal), and
    with neither the rollback is refused before anything is written (exit 2)."""

    version: str
    environment: str
    reason: str
    dry_run: bool = False
    force: bool = False
    break_glass: str | None = None
    yes: bool = False
    confirm: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class RollbackResult:
    rollback_id: str
    version: str
    environment: str
    digest: str = ""
    previous_version: str | None = None
    previous_digest: str | None = None
    rollback_tag: str | None = None
    impact: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    nothing_to_do: bool = False
    tags: list[str] = field(default_factory=list)
    record_digest: str | None = None
    registries: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resumed: bool = False  # finished a rollback a killed run had requested
    blocking: list[dict[str, Any]] = field(default_factory=list)
    """A dry run: what would stop the real rollback (code, exit_code, message, hint)."""
    needs_confirmation: bool = False
    """A dry run: the real rollback would ask before writing (RISKY, on a terminal)."""


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


@dataclass(frozen=True)
class AdoptRequest:
    version: str
    environment: str
    reason: str


@dataclass
class AdoptResult:
    adoption_id: str
    version: str
    environment: str
    tag: str
    digest: str
    reason: str
    record_digest: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GcRequest:
    keep: int
    environments: tuple[str, ...] = ()  # empty: every environment on the path
    dry_run: bool = False


@dataclass
class GcResult:
    collection_id: str
    keep: int
    environments: list[str]
    dry_run: bool
    plan: list[dict[str, Any]] = field(default_factory=list)  # every tag: action, reason
    deleted: dict[str, str] = field(default_factory=dict)  # tag -> digest
    absent: dict[str, str] = field(default_factory=dict)
    record_digests: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

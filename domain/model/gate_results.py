"""A gate's outcome as recorded in the ledger: its status, its result, and the verdict and
refusal a promotion draws from all of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

from floe_ledger.domain.model.errors import GateFailedError
from floe_ledger.domain.model.scan import SecuritySummary


class GateStatus(StrEnum):
    """A gate's outcome (ENT-02)."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    WARNING = "warning"


class GateVerdict(StrEnum):
    PASSED = "passed"
    BLOCKED = "blocked"


class GateResult(BaseModel):
    """One gate's outcome, as recorded in the ledger (ENT-03, FR-011)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gate: str
    status: GateStatus
    duration_ms: NonNegativeInt = 0
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    security_summary: SecuritySummary | None = None
    timeout_seconds: float | None = None
    """The timeout the gate's command ran under (None for gates that run no command)."""
    timeout_requested: float | None = None
    """The longer timeout the gate's own settings asked for, when the environment's
    ``gate_timeout_seconds`` capped it."""

    @model_validator(mode="after")
    def _failed_says_why(self) -> GateResult:
        if self.status is GateStatus.FAILED and not self.error:
            raise ValueError(f"gate {self.gate!r} failed without an error message")
        return self

    @classmethod
    def failed(cls, gate: str, error: str, **details: Any) -> GateResult:
        return cls(gate=gate, status=GateStatus.FAILED, error=error, details=details)

    @classmethod
    def skipped(cls, gate: str, reason: str = "not enabled for this environment") -> GateResult:
        return cls(gate=gate, status=GateStatus.SKIPPED, details={"reason": reason})

    def recorded(self) -> dict[str, Any]:
        """The result as the ledger keeps it: without the output tails, which only the
        command's own output shows (security review §9: the ledger is forever)."""
        data = self.model_dump(mode="json")
        data["details"] = {k: v for k, v in data["details"].items() if k not in OUTPUT_TAILS}
        return data


OUTPUT_TAILS = ("stdout_tail", "stderr_tail")
"""Keys of ``details`` holding the last bytes a gate command printed (scrubbed)."""


def tally(results: Iterable[GateResult]) -> dict[str, int]:
    """How many gates ran and passed (warnings pass), failed, were skipped, in all."""
    statuses = [r.status for r in results]
    return {"total": len(statuses),
            "passed": sum(s in (GateStatus.PASSED, GateStatus.WARNING) for s in statuses),
            "warning": statuses.count(GateStatus.WARNING),
            "failed": statuses.count(GateStatus.FAILED),
            "skipped": statuses.count(GateStatus.SKIPPED)}


def verdict(results: Iterable[GateResult]) -> GateVerdict:
    """BLOCKED if any gate failed; warnings and skips never block."""
    failed = any(r.status is GateStatus.FAILED for r in results)
    return GateVerdict.BLOCKED if failed else GateVerdict.PASSED


def gate_failure(results: Sequence[GateResult]) -> GateFailedError | None:
    """The error to raise (exit 8) naming every failed gate, or None if none failed."""
    failed = [r for r in results if r.status is GateStatus.FAILED]
    if not failed:
        return None
    names = ", ".join(f"'{r.gate}'" for r in failed)
    lines = "; ".join(f"{r.gate}: {r.error}" for r in failed)
    return GateFailedError(
        f"gate {names} failed: {lines}" if len(failed) == 1 else f"gates {names} failed: {lines}",
        hint="promotion aborted, artifact not tagged; fix what each gate reports and promote "
        "again",
        details={"failed_gates": [r.gate for r in failed],
                 "failures": [{"gate": r.gate, "error": r.error} for r in failed]},
    )

"""Command gates (tests, cost_analysis, performance_baseline, custom): outcome → GateResult."""

from __future__ import annotations

import json
from typing import Any

from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.adapters.gates.runner import (
    OUTPUT_LIMIT,
    CommandOutcome,
    gate_env,
    gate_tmpdir,
    run_command,
    substitute,
    timeout_message,
)
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.model.gates import GateSpec

EXCERPT_CHARS = 2000
_REPORTED = {"passed": GateStatus.PASSED, "warning": GateStatus.WARNING,
             "failed": GateStatus.FAILED}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The last ``limit`` characters, marked when cut."""
    text = text.rstrip()
    return text if len(text) <= limit else "…" + text[-limit:]


def last_line(text: str) -> str:
    """The last non-empty line, or ''."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def reported_status(stdout: str) -> dict[str, Any] | None:
    """The JSON status object on the last non-empty stdout line, if there is one."""
    try:
        data = json.loads(last_line(stdout))
    except ValueError:
        return None
    return data if isinstance(data, dict) and "status" in data else None


def outcome_details(outcome: CommandOutcome) -> dict[str, Any]:
    """Command, exit code and output excerpts for the record and CLI-07."""
    details: dict[str, Any] = {"command": list(outcome.argv), "exit_code": outcome.exit_code}
    if outcome.stdout_total:
        details["stdout_tail"] = excerpt(outcome.stdout_text)
    if outcome.stderr_total:
        details["stderr_tail"] = excerpt(outcome.stderr_text)
    return details


def _from_report(gate: str, report: dict[str, Any], details: dict[str, Any]) -> GateResult:
    status = _REPORTED.get(str(report.get("status")))
    extra = report.get("details")
    if isinstance(extra, dict):
        details = details | {"reported": extra}
    if status is None:
        return GateResult.failed(
            gate, f"gate reported unknown status {report.get('status')!r} "
            "(expected passed, warning or failed)", **details)
    message = report.get("message")
    error = str(message) if message else None
    if status is GateStatus.FAILED and not error:
        error = "the gate command reported failure"
    return GateResult(gate=gate, status=status, error=error, details=details)


def command_result(gate: str, outcome: CommandOutcome, timeout_seconds: float) -> GateResult:
    """Interpret a finished command: timeout, launch error, exit code, JSON status line."""
    if outcome.launch_error is not None:
        return GateResult.failed(gate, outcome.launch_error, command=list(outcome.argv))
    details = outcome_details(outcome)
    if outcome.timed_out:
        return GateResult.failed(gate, timeout_message(timeout_seconds), **details)
    report = reported_status(outcome.stdout_text)
    if outcome.exit_code != 0:
        if report is not None and isinstance(report.get("details"), dict):
            details["reported"] = report["details"]
        why = last_line(outcome.stderr_text) or last_line(outcome.stdout_text)
        error = f"gate command exited with code {outcome.exit_code}"
        return GateResult.failed(gate, f"{error}: {why[:300]}" if why else error, **details)
    if report is not None:
        return _from_report(gate, report, details)
    return GateResult(gate=gate, status=GateStatus.PASSED, details=details)


def run_spec(spec: GateSpec, ctx: GateContext, stdout_limit: int = OUTPUT_LIMIT
             ) -> CommandOutcome:
    """Run ``spec``'s argv (placeholders filled in) with the allowlisted environment (§10).

    The command runs in ``ctx.workdir`` with a TMPDIR of its own, outside ``.floe/``.
    """
    values = ctx.placeholders()
    with gate_tmpdir() as tmp:
        return run_command(
            substitute(spec.argv, values), timeout=spec.timeout_seconds,
            grace=ctx.grace_seconds, env=gate_env(ctx.parent_env(), values, spec.env, tmp),
            cwd=ctx.workdir, stdout_limit=stdout_limit)


def run_command_gate(spec: GateSpec, ctx: GateContext) -> GateResult:
    """Run a command gate's argv (placeholders filled in) under its timeout."""
    return command_result(spec.name, run_spec(spec, ctx), spec.timeout_seconds)

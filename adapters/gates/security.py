"""The security_scan gate: run a scanner (or read its report), parse it, decide.

The scanner's exit code is ignored (Trivy exits 0 with findings unless told
otherwise, SCAN-09): pass or fail comes from the parsed report. A report that
cannot be read fails the gate closed.
"""

from __future__ import annotations

from floe_ledger.adapters.gates.command import excerpt, outcome_details, run_spec
from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.adapters.gates.runner import CommandOutcome, substitute, timeout_message
from floe_ledger.domain.model.gates import GateResult, GateSpec, GateStatus, SecurityGateConfig
from floe_ledger.domain.model.scan import ScanReportError, SecuritySummary, load_report, summarize

REPORT_LIMIT = 128 * 1024 * 1024
"""Largest scanner report accepted on stdout or from a file (bytes)."""


def _describe(finding_ids: tuple[str, ...], limit: int = 10) -> str:
    shown = ", ".join(finding_ids[:limit])
    more = len(finding_ids) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def scan_result(gate: str, summary: SecuritySummary) -> GateResult:
    """FAILED if anything blocks, WARNING if only non-blocking findings, else PASSED."""
    counts = {k: v for k, v in summary.by_severity.items() if v}
    details = {"by_severity": counts, "ignored_unfixed": summary.ignored_unfixed}
    if summary.blocking:
        blocking = ", ".join(f"{f.id} ({f.severity.value}, {f.package or '?'})"
                             for f in summary.blocking[:10])
        more = len(summary.blocking) - 10
        error = (f"{len(summary.blocking)} blocking vulnerabilit"
                 f"{'y' if len(summary.blocking) == 1 else 'ies'} at "
                 f"{'/'.join(summary.block_on_severity)}: {blocking}"
                 + (f" and {more} more" if more > 0 else ""))
        return GateResult(gate=gate, status=GateStatus.FAILED, error=error, details=details,
                          security_summary=summary)
    if summary.warnings:
        ids = tuple(dict.fromkeys(f.id for f in summary.warnings))
        details["warning"] = f"{len(summary.warnings)} non-blocking: {_describe(ids)}"
        return GateResult(gate=gate, status=GateStatus.WARNING, details=details,
                          security_summary=summary)
    return GateResult(gate=gate, status=GateStatus.PASSED, details=details,
                      security_summary=summary)


def evaluate_report(gate: str, raw: bytes | str, cfg: SecurityGateConfig) -> GateResult:
    """Parse a report per ``cfg`` and decide; unreadable reports fail closed."""
    try:
        findings = load_report(raw, cfg.scanner_format)
    except ScanReportError as exc:
        return GateResult.failed(gate, exc.message, hint=exc.hint, **exc.details)
    summary = summarize(findings, cfg.block_on_severity, ignore_unfixed=cfg.ignore_unfixed,
                        scanner=cfg.scanner_format)
    return scan_result(gate, summary)


def _read_report(spec: GateSpec, cfg: SecurityGateConfig, ctx: GateContext) -> GateResult:
    path = ctx.resolve(substitute([cfg.report or ""], ctx.placeholders())[0])
    try:
        size = path.stat().st_size
        if size > REPORT_LIMIT:
            return GateResult.failed(spec.name, f"scanner report {path} is too large ({size} B)")
        raw = path.read_bytes()
    except OSError as exc:
        return GateResult.failed(
            spec.name, f"cannot read scanner report {path}: {exc.strerror or exc}",
            report=str(path))
    result = evaluate_report(spec.name, raw, cfg)
    return result.model_copy(update={"details": result.details | {"report": str(path)}})


def _scanner_failed(spec: GateSpec, outcome: CommandOutcome, error: str) -> GateResult:
    details = outcome_details(outcome)
    details.pop("stdout_tail", None)
    if outcome.stdout_total:
        details["stdout_tail"] = excerpt(outcome.stdout_text, 500)
    return GateResult.failed(spec.name, error, **details)


def _run_scanner(spec: GateSpec, cfg: SecurityGateConfig, ctx: GateContext) -> GateResult:
    outcome = run_spec(spec, ctx, stdout_limit=REPORT_LIMIT)
    if outcome.launch_error is not None:
        return GateResult.failed(spec.name, outcome.launch_error, command=list(outcome.argv))
    if outcome.timed_out:
        return _scanner_failed(spec, outcome, timeout_message(spec.timeout_seconds))
    if outcome.stdout_total > REPORT_LIMIT:
        return _scanner_failed(spec, outcome, f"scanner output exceeds {REPORT_LIMIT} bytes")
    result = evaluate_report(spec.name, outcome.stdout, cfg)
    if result.status is GateStatus.FAILED and result.security_summary is None:
        code = outcome.exit_code
        return _scanner_failed(spec, outcome, f"{result.error} (scanner exit code {code})")
    extra = {"command": list(outcome.argv), "exit_code": outcome.exit_code}
    return result.model_copy(update={"details": result.details | extra})


def run_security_gate(spec: GateSpec, ctx: GateContext) -> GateResult:
    """Run the scanner command or read the report file named by the spec's config."""
    cfg = spec.security or SecurityGateConfig()
    if cfg.report is not None:
        return _read_report(spec, cfg, ctx)
    return _run_scanner(spec, cfg, ctx)

"""The security_scan gate: run a scanner (or read its report), parse it, decide.

The scanner's exit code is ignored (Trivy exits 0 with findings unless told
otherwise, SCAN-09): pass or fail comes from the parsed report. A report that
cannot be read fails the gate closed. A report that names the manifest digests it scanned
(Trivy ``Metadata.RepoDigests``, Grype ``source.target.manifestDigest``/``repoDigests``)
must name the artifact's, or the gate fails; one that names none passes with a
``report_warning`` in its details (security review §17).
"""

from __future__ import annotations

import json
import re
from typing import Any

from floe_ledger.adapters.gates.command import excerpt, outcome_details, run_spec
from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.adapters.gates.runner import CommandOutcome, substitute, timeout_message
from floe_ledger.adapters.system.files import (
    FileTooLargeError,
    NotRegularFileError,
    read_limited,
)
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.model.gates import GateSpec, SecurityGateConfig
from floe_ledger.domain.model.scan import ScanReportError, SecuritySummary, load_report, summarize

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
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


def report_digests(raw: bytes | str, fmt: str) -> set[str]:
    """The manifest digests a report says it scanned (§17).

    Trivy: ``Metadata.RepoDigests`` (``repo@sha256:…``). Grype: ``source.target``'s
    ``manifestDigest`` and ``repoDigests``. Image ids (config digests) are not manifest
    digests and are not compared.
    """
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return set()
    if not isinstance(doc, dict):
        return set()
    named: list[Any] = []
    if fmt == "trivy":
        meta = doc.get("Metadata")
        named = list(meta.get("RepoDigests") or []) if isinstance(meta, dict) else []
    else:
        source = doc.get("source")
        target = source.get("target") if isinstance(source, dict) else None
        if isinstance(target, dict):
            named = [target.get("manifestDigest"), *(target.get("repoDigests") or [])]
    found = {str(n).rpartition("@")[2] for n in named if isinstance(n, str) and n}
    return {d for d in found if _DIGEST.fullmatch(d)}


def bind_report(result: GateResult, raw: bytes | str, cfg: SecurityGateConfig,
                digest: str) -> GateResult:
    """Fail a report that names other digests than the artifact's; warn if it names none."""
    if result.status is GateStatus.FAILED and result.security_summary is None:
        return result
    named = report_digests(raw, cfg.scanner_format)
    if not named:
        note = (f"the {cfg.scanner_format} report names no manifest digest, so it cannot be "
                f"shown to be a scan of {digest}")
        return result.model_copy(update={"details": result.details | {"report_warning": note}})
    if digest in named:
        return result.model_copy(update={"details": result.details | {"scanned": digest}})
    return GateResult.failed(
        result.gate, f"the scanner report is for {', '.join(sorted(named))}, not for the "
        f"artifact being promoted ({digest})", hint="scan ${ARTIFACT_REF} (by digest), or "
        "write the report to a path that names ${ARTIFACT_DIGEST}",
        report_digests=sorted(named), **{k: v for k, v in result.details.items()
                                         if k in ("report", "command", "exit_code")})


def evaluate_report(gate: str, raw: bytes | str, cfg: SecurityGateConfig,
                    digest: str | None = None) -> GateResult:
    """Parse a report per ``cfg`` and decide; unreadable reports fail closed.

    With ``digest``, the report must be a scan of it (:func:`bind_report`).
    """
    try:
        findings = load_report(raw, cfg.scanner_format)
    except ScanReportError as exc:
        return GateResult.failed(gate, exc.message, hint=exc.hint, **exc.details)
    summary = summarize(findings, cfg.block_on_severity, ignore_unfixed=cfg.ignore_unfixed,
                        scanner=cfg.scanner_format)
    result = scan_result(gate, summary)
    return result if digest is None else bind_report(result, raw, cfg, digest)


def _read_report(spec: GateSpec, cfg: SecurityGateConfig, ctx: GateContext) -> GateResult:
    path = ctx.resolve(substitute([cfg.report or ""], ctx.placeholders())[0])
    try:
        raw = read_limited(path, REPORT_LIMIT, regular_only=True)
    except FileTooLargeError as exc:
        size = f" ({exc.size} B)" if exc.size is not None else ""
        return GateResult.failed(spec.name, f"scanner report {path} is larger than "
                                 f"{REPORT_LIMIT} B{size}; not read", report=str(path))
    except NotRegularFileError:
        return GateResult.failed(spec.name, f"scanner report {path} is not a regular file",
                                 report=str(path))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return GateResult.failed(spec.name, f"cannot read scanner report {path}: {reason}",
                                 report=str(path))
    result = evaluate_report(spec.name, raw, cfg, ctx.artifact_digest)
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
    result = evaluate_report(spec.name, outcome.stdout, cfg, ctx.artifact_digest)
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

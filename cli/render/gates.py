"""A promotion's gate lines: the count, one line per gate, and under a gate what matters.

    gates       4/5 passed, 1 skipped
      failed   tests (41 ms): gate command exited with code 1: 1 failed
                 argv     python -m pytest -q
                 stderr   E   assert 1 == 2
      warning  security_scan (8 ms): 2 findings at MEDIUM or above
                 HIGH     CVE-2023-1   openssl 3.0.1 (fixed in 3.0.2)  ignored: no fix
                 totals   HIGH 1, MEDIUM 1, LOW 4; 1 ignored as unfixed

Under a security gate: every finding at or above the warning band (the severity just below
the lowest that blocks) with its package, installed and fixed versions, then the totals per
severity and how many were ignored as unfixed. Under a failed gate that ran a command: its
argv and the last lines of its output (scrubbed of secrets when the gate finished; shown
here, never kept in the ledger or the registry record). In a dry run, each gate's timeout.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from floe_ledger.cli.render.text import escape

if TYPE_CHECKING:
    from floe_ledger.domain.model.gate_results import GateResult
    from floe_ledger.domain.model.scan import Finding, SecuritySummary

TAIL_LINES = 8
"""Lines of a failed command's stdout and of its stderr shown under its gate."""
FINDINGS_SHOWN = 20
"""Findings listed under a security gate; the rest are counted."""
_COLOUR = {"passed": "green", "warning": "yellow", "failed": "red"}
_PAD = " " * 15


def gate_count(gates: Sequence[GateResult]) -> str:
    """``4/5 passed, 1 skipped`` (a warning passes; a skipped gate did not run, so it did not)."""
    from floe_ledger.domain.model.gate_results import tally

    n = tally(gates)
    text = f"{n['passed']}/{n['total']} passed"
    for key in ("failed", "skipped"):
        if n[key]:
            text += f", {n[key]} {key}"
    return text


def render_gates(say: Callable[[str], None], gates: Sequence[GateResult], *,
                 dry_run: bool = False) -> None:
    """The count, then each gate and what it found; ``say`` prints one line."""
    if not gates:
        say("  gates       none configured")
        return
    say(f"  gates       {gate_count(gates)}")
    for gate in gates:
        say(_headline(gate, dry_run))
        for line in _under(gate):
            say(f"{_PAD}{line}")


def _headline(g: GateResult, dry_run: bool) -> str:
    status = str(g.status.value)
    colour = _COLOUR.get(status, "dim")
    line = f"    [{colour}]{status:<8}[/{colour}] {escape(g.gate)}"
    facts = [] if status == "skipped" else [f"{g.duration_ms} ms"]  # a skipped gate never ran
    if dry_run and g.timeout_seconds is not None:
        facts.append(_timeout(g))
    if facts:
        line += f" ({', '.join(facts)})"
    if g.error:
        line += f": {escape(g.error)}"
    elif g.security_summary is not None and g.security_summary.total:
        shown = len(g.security_summary.notable())
        line += f": {shown} finding(s) at {g.security_summary.warning_band.value} or above"
    return line


def _timeout(g: GateResult) -> str:
    text = f"timeout {g.timeout_seconds:g} s"
    if g.timeout_requested is not None:
        text += (f", capped from {g.timeout_requested:g} s by the environment's "
                 "gate_timeout_seconds")
    return text


def _under(g: GateResult) -> list[str]:
    lines: list[str] = []
    if g.security_summary is not None:
        lines += _findings(g.security_summary)
    if str(g.status.value) == "failed":
        lines += _command(g.details)
    return lines


def _findings(summary: SecuritySummary) -> list[str]:
    notable = summary.notable()
    lines = [_finding(f, summary) for f in notable[:FINDINGS_SHOWN]]
    if len(notable) > FINDINGS_SHOWN:
        lines.append(f"… and {len(notable) - FINDINGS_SHOWN} more at "
                     f"{summary.warning_band.value} or above (-o json lists them all)")
    counts = ", ".join(f"{sev} {n}" for sev, n in summary.by_severity.items() if n) or "none"
    lines.append(f"{'totals':<8} {counts}; {summary.ignored_unfixed} ignored as unfixed")
    return lines


def _finding(f: Finding, summary: SecuritySummary) -> str:
    installed = f" {f.installed_version}" if f.installed_version else ""
    fixed = f"fixed in {f.fixed_version}" if f.fixed_version else "no fix"
    if f in summary.blocking:
        verdict = "blocks"
    elif f.severity.value in summary.block_on_severity:
        verdict = "ignored: no fix"
    else:
        verdict = "warning"
    return escape(f"{f.severity.value:<8} {f.id}  {f.package or '?'}{installed} ({fixed})  "
                  f"{verdict}")


def _command(details: dict[str, Any]) -> list[str]:
    lines = []
    argv = details.get("command")
    if isinstance(argv, list) and argv:
        lines.append(escape(f"{'argv':<8} {shlex.join(str(a) for a in argv)}"))
    for stream in ("stdout", "stderr"):
        tail = details.get(f"{stream}_tail")
        if isinstance(tail, str) and tail.strip():
            kept = [line for line in tail.splitlines() if line.strip()][-TAIL_LINES:]
            lines += [escape(f"{stream:<8} {line}") for line in kept]
    return lines

"""``floe platform promote``: its JSON fields and its lines on a terminal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from floe_ledger.cli.output import Output
from floe_ledger.cli.render.gates import render_gates

if TYPE_CHECKING:
    from floe_ledger.domain.model.gate_results import GateResult
    from floe_ledger.domain.services.requests import PromoteResult


def promote_payload(result: PromoteResult, operator: str) -> dict[str, Any]:
    """JSON-01 fields, plus what the ledger knows about this promotion."""
    return {
        "promotion_id": result.promotion_id,
        "artifact_digest": result.digest,
        "artifact_tag": result.artifact_tag,
        "version": result.version,
        "source_environment": result.source,
        "target_environment": result.target,
        "tags": result.tags,
        "gate_results": [g.model_dump(mode="json") for g in result.gate_results],
        "signature": result.signature,
        "registries": result.registries,
        "warnings": result.warnings,
        "operator": operator,
        "promoted_at": datetime.now(UTC).isoformat(),
        "dry_run": result.dry_run,
        "would_succeed": not result.blocking if result.dry_run else None,
        "estimate": result.estimate or None,
        "blocking": result.blocking,
        "resumed": result.resumed,
        "nothing_written": result.nothing_written,
        "record_digest": result.record_digest,
    }


def render_promotion(out: Output, result: PromoteResult) -> None:
    """The outcome, the digest, each tag, each gate and the signature, one line each."""
    from floe_ledger.cli.render.text import escape

    c = out.console
    src = result.source or f"release tag {result.artifact_tag}"
    if result.dry_run:
        verdict = ("[green]would succeed[/green]" if not result.blocking
                   else "[bold red]BLOCKED[/bold red]")
        c.print(f"Dry run: promote {escape(result.version)} from {escape(src)} to "
                f"{escape(result.target)}: {verdict}")
        for block in result.blocking:
            c.print(f"  [red]blocked:[/red] {escape(block['message'])}")
        est = result.estimate
        if est.get("gates"):
            guess = (f"~{est['estimated_ms'] / 1000:.1f} s from {est['runs']} past gate runs"
                     if est.get("estimated_ms") is not None else "no past runs to estimate from")
            c.print(f"  gates to run: {escape(', '.join(est['gates']))} ({guess})")
    elif result.nothing_written:
        c.print(f"{escape(result.version)} is already in {escape(result.target)}; "
                "nothing written")
    else:
        word = "Resumed and promoted" if result.resumed else "Promoted"
        c.print(f"[green]{word}[/green] {escape(result.version)} from {escape(src)} to "
                f"{escape(result.target)}")
    c.print(f"  digest      {result.digest}")
    for tag in result.tags:
        kind = "mutable" if tag.startswith("latest-") else "immutable"
        verb = "would write" if result.dry_run else "tag"
        c.print(f"  {verb:<11} {escape(tag)} ({kind})")
    render_gates(c.print, result.gate_results, dry_run=result.dry_run)
    sig = result.signature or {}
    if sig:
        from floe_ledger.domain.model.signature import signer  # pydantic models: tables only

        c.print(f"  signature   {escape(str(sig.get('status')))} {escape(signer(sig))}".rstrip())
    c.print(f"  trace id    {out.trace_id}")


def render_gate_failure(out: Output, gates: list[dict[str, Any]]) -> None:
    """On stderr, before the error: every gate of a promotion a gate stopped, with what each
    found (the error names every failed gate; these lines show why)."""
    from floe_ledger.domain.model.gate_results import GateResult

    results = [GateResult.model_validate(g) for g in gates]
    render_gates(out.err_console.print, results)


def gate_progress(out: Output) -> Callable[[GateResult], None]:
    """One stderr line per gate as it finishes, so long gates show they are moving."""
    def show(result: GateResult) -> None:
        from floe_ledger.cli.render.text import escape

        status = str(result.status.value)
        colour = {"passed": "green", "warning": "yellow", "failed": "red"}.get(status, "dim")
        out.err_console.print(f"  gate [{colour}]{status}[/{colour}] "
                              f"{escape(result.gate)} ({result.duration_ms} ms)")
    return show

"""``floe platform``: promote, status (and, later, rollback, lock, unlock, sync)."""

from __future__ import annotations

import sys
from typing import Any

import click

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.commands.webhooks import notify_webhooks
from floe_ledger.cli.options import manifest_option
from floe_ledger.cli.output import Output, handle_errors, output_option
from floe_ledger.cli.render.promotion import promote_payload, render_promotion
from floe_ledger.cli.render.status import render_status
from floe_ledger.domain.errors import FloeError


@click.group()
def platform() -> None:
    """Promote, inspect and operate environments."""


@platform.command()
@click.argument("version")
@click.option("--from", "source", default=None, metavar="ENV",
              help="Source environment; omit to enter the first environment from the "
              "release tag VERSION.")
@click.option("--to", "target", required=True, metavar="ENV", help="Target environment.")
@click.option("--dry-run", is_flag=True, help="Run every check, write nothing.")
@click.option("--force", is_flag=True,
              help="Complete a promotion whose env tag already exists with the same digest, "
              "or resume an interrupted one. Never re-points a tag to another digest.")
@click.option("--no-cache", is_flag=True, help="Re-verify signatures even if cached.")
@manifest_option
@output_option
@handle_errors
def promote(version: str, source: str | None, target: str, dry_run: bool, force: bool,
            no_cache: bool, manifest: str | None, output: str, out: Output) -> None:
    """Promote VERSION from one environment to the next.

    Writes VERSION-TARGET (immutable) and latest-TARGET (mutable) pointing at the exact
    digest of VERSION-SOURCE, after the transition, lock, signature and gate checks.

    \b
    Examples:
      floe platform promote v1.2.3 --to dev
      floe platform promote v1.2.3 --from dev --to staging
      floe platform promote v1.2.3 --from staging --to prod --dry-run -o json
    """
    from floe_ledger.domain.promote import PromoteRequest

    app = App(Settings.from_options(manifest))
    out.trace_id = app.trace_id
    if not out.structured and sys.stderr.isatty():
        app.on_gate = gate_progress(out)
    try:
        service = app.promotion_service()
        request = PromoteRequest(version, source, target, force=force, dry_run=dry_run,
                                 use_cache=not no_cache)
        try:
            result = service.promote(request, app.actor())
        except FloeError as err:
            err.payload = {"gate_results": err.details.get("gate_results", [])}  # type: ignore[attr-defined]
            raise
        payload = promote_payload(result, app.operator.name)
        if out.structured:
            blocked = bool(result.blocking)
            out.result(payload, success=not blocked)
        else:
            render_promotion(out, result, payload)
        for warning in result.warnings:
            out.warn(warning) if not out.structured else None
        if result.blocking:
            raise SystemExit(int(result.blocking[0]["exit_code"]))
    finally:
        if not dry_run:
            notify_webhooks(app, out)
        app.close()


@platform.command()
@click.option("--env", "environment", default=None, metavar="ENV", help="Only this environment.")
@click.option("--history", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also show the last N events (promotions, rollbacks, locks, refusals).")
@manifest_option
@output_option
@handle_errors
def status(environment: str | None, history: int, manifest: str | None, output: str,
           out: Output) -> None:
    """What runs in each environment: version, digest, who promoted it, when, locks."""
    from floe_ledger.cli.status_query import query_status

    app = App(Settings.from_options(manifest))
    try:
        rows = query_status(app, environment, history)
        if out.structured:
            out.document(rows)
        else:
            render_status(out, rows, history)
    finally:
        app.close()


def gate_progress(out: Output) -> Any:
    """One stderr line per gate as it finishes, so long gates show they are moving."""
    def show(result: Any) -> None:
        from rich.markup import escape

        status = str(result.status.value)
        colour = {"passed": "green", "warning": "yellow", "failed": "red"}.get(status, "dim")
        out.err_console.print(f"  gate [{colour}]{status}[/{colour}] "
                              f"{escape(result.gate)} ({result.duration_ms} ms)")
    return show

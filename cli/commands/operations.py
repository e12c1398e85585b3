"""``floe platform rollback|lock|unlock`` and ``floe whoami``."""

from __future__ import annotations

import sys
from typing import Any

import click

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.commands.platform import platform
from floe_ledger.cli.commands.webhooks import notify_webhooks
from floe_ledger.cli.options import manifest_option
from floe_ledger.cli.output import Output, handle_errors, output_option
from floe_ledger.cli.render.rollback import render_impact, render_rollback
from floe_ledger.domain.errors import UsageError


def _reason(reason: str | None, what: str) -> str:
    if reason:
        return reason
    if sys.stdin.isatty():
        return str(click.prompt(f"Reason for the {what}"))
    raise UsageError(f"--reason is required for a {what}",
                     hint="pass --reason TEXT (the prompt is only offered on a terminal)")


@platform.command()
@click.argument("version")
@click.option("--env", "environment", required=True, metavar="ENV",
              help="Environment to roll back.")
@click.option("--reason", default=None, help="Why (recorded; prompted for on a terminal).")
@click.option("--dry-run", is_flag=True, help="Show the impact analysis; write nothing.")
@click.option("--force", is_flag=True, help="Roll back even if the impact analysis says BLOCKED.")
@click.option("--break-glass", default=None, metavar="REASON",
              help="Enter a locked environment (authorized operators only; recorded).")
@manifest_option
@output_option
@handle_errors
def rollback(version: str, environment: str, reason: str | None, dry_run: bool, force: bool,
             break_glass: str | None, manifest: str | None, output: str, out: Output) -> None:
    """Re-point ENV to VERSION, a version promoted to it before.

    Writes VERSION-ENV-rollback-N (immutable) and moves latest-ENV; immutable tags are
    untouched. --dry-run shows what it would undo, later environments that run newer
    versions, semver-major steps, the manifest differences, affected dependents and a
    risk level (SAFE / RISKY / BLOCKED).
    """
    from floe_ledger.domain.operations import RollbackRequest

    app = App(Settings.from_options(manifest))
    out.trace_id = app.trace_id
    try:
        text = reason if dry_run else _reason(reason, "rollback")
        req = RollbackRequest(version, environment, text or "", dry_run=dry_run, force=force,
                              break_glass=break_glass)
        result = app.operations_service().rollback(req, app.actor())
        payload: dict[str, Any] = {
            "rollback_id": result.rollback_id, "artifact_digest": result.digest,
            "version": result.version, "environment": result.environment,
            "previous_version": result.previous_version,
            "previous_digest": result.previous_digest, "rollback_tag": result.rollback_tag,
            "tags": result.tags, "reason": text, "impact_analysis": result.impact,
            "dry_run": result.dry_run, "nothing_to_do": result.nothing_to_do,
            "operator": app.operator.name,
        }
        if out.structured:
            out.result(payload)
        else:
            render_rollback(out, result, text or "")
            if result.impact:
                render_impact(out, result.impact)
    finally:
        if not dry_run:
            notify_webhooks(app, out)
        app.close()


def _lock_command(locking: bool) -> Any:
    word = "lock" if locking else "unlock"

    @click.option("--env", "environment", required=True, metavar="ENV")
    @click.option("--reason", default=None, help="Why (recorded; prompted for on a terminal).")
    @manifest_option
    @output_option
    @handle_errors
    def command(environment: str, reason: str | None, manifest: str | None, output: str,
                out: Output) -> None:
        app = App(Settings.from_options(manifest))
        out.trace_id = app.trace_id
        try:
            text = _reason(reason, word)
            ops = app.operations_service()
            actor = app.actor()
            changed = ops.lock(environment, text, actor) if locking else ops.unlock(
                environment, text, actor)
            lock = ops.current_lock(environment, actor)
            payload = {"environment": environment, "changed": changed, "locked": lock is not None,
                       "lock": lock, "reason": text, "operator": app.operator.name}
            if out.structured:
                out.result(payload)
                return
            from rich.markup import escape

            c = out.console
            if locking and not changed and lock:
                c.print(f"{escape(environment)} is already locked by {escape(lock['locked_by'])}"
                        f" at {lock['locked_at']}: {escape(lock['reason'])}")
            elif locking:
                c.print(f"[red]Locked[/red] {escape(environment)} (by {escape(app.operator.name)})"
                        f": {escape(text)}")
                c.print(f"  unlock with: floe platform unlock --env {escape(environment)} "
                        "--reason TEXT")
            elif changed:
                c.print(f"[green]Unlocked[/green] {escape(environment)}: {escape(text)}")
            else:
                c.print(f"{escape(environment)} was not locked; nothing to do")
        finally:
            notify_webhooks(app, out)
            app.close()

    command.__doc__ = (f"{word.capitalize()} an environment: "
                       + ("promotions and rollbacks into it are refused (exit 13) until "
                          "unlocked." if locking else "promotions and rollbacks resume."))
    return platform.command(name=word)(command)


lock = _lock_command(True)
unlock = _lock_command(False)


@click.command()
@manifest_option
@output_option
@handle_errors
def whoami(manifest: str | None, output: str, out: Output) -> None:
    """Who floe takes you for, and how it knows (OIDC token, registry login, local user)."""
    app = App(Settings.from_options(manifest))
    try:
        op = app.operator
        if out.structured:
            out.result({"operator": op.as_dict()})
            return
        from rich.markup import escape

        state = "authenticated" if op.authenticated else "NOT authenticated"
        out.console.print(f"{escape(op.name)} ({state}, from {op.source})")
        out.console.print(f"  groups: {escape(', '.join(op.groups) or '-')}")
    finally:
        app.close()

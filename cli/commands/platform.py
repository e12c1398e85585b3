"""``floe platform``: promote, status, rollback, lock, unlock and sync (FR-029, US6)."""

from __future__ import annotations

import sys
from typing import Any

import click

from floe_ledger.cli.after_command import after_command
from floe_ledger.cli.app import App
from floe_ledger.cli.complete import environments, versions
from floe_ledger.cli.options import MAX_ROWS, floe_command, plain_text, require_reason
from floe_ledger.cli.output import Output
from floe_ledger.cli.progress import progress
from floe_ledger.cli.render.lock import lock_payload, render_lock
from floe_ledger.cli.render.promotion import (
    gate_progress,
    promote_payload,
    render_gate_failure,
    render_promotion,
)
from floe_ledger.cli.render.rollback import render_impact, render_rollback, rollback_payload
from floe_ledger.cli.render.status import render_status
from floe_ledger.domain.model.errors import FloeError


@click.group()
def platform() -> None:
    """Promote, inspect and operate environments."""


@click.command()
@click.argument("version", shell_complete=versions)
@click.option("--from", "source", default=None, metavar="ENV", shell_complete=environments,
              help="Source environment; omit to enter the first environment from the "
              "release tag VERSION.")
@click.option("--to", "target", required=True, metavar="ENV", shell_complete=environments,
              help="Target environment.")
@click.option("--dry-run", is_flag=True, help="Run every check, write nothing.")
@click.option("--force", is_flag=True,
              help="Complete a promotion whose env tag already exists with the same digest, "
              "or resume an interrupted one. Never re-points a tag to another digest.")
@click.option("--no-cache", is_flag=True, help="Re-verify signatures even if cached.")
@click.option("--break-glass", default=None, metavar="REASON",
              help="Enter a locked environment (recorded; needs an authenticated operator, "
              "in allowed_groups or break_glass_groups where the environment lists them).")
@floe_command(traced=True)
def promote(app: App, out: Output, version: str, source: str | None, target: str,
            dry_run: bool, force: bool, no_cache: bool, break_glass: str | None) -> None:
    """Promote VERSION from one environment to the next.

    Writes VERSION-TARGET (immutable) and latest-TARGET (mutable) pointing at the exact
    digest of VERSION-SOURCE, after the transition, lock, signature and gate checks.

    \b
    Examples:
      floe platform promote v1.2.3 --to dev
      floe platform promote v1.2.3 --from dev --to staging
      floe platform promote v1.2.3 --from staging --to prod --dry-run -o json
      floe platform promote v1.2.4 --from staging --to prod --break-glass "INC-7 hotfix"
    """
    from floe_ledger.domain.services.requests import PromoteRequest

    if not out.structured and sys.stderr.isatty():
        app.on_gate = gate_progress(out)
    try:
        service = app.promotion_service()
        request = PromoteRequest(version, source, target, force=force, dry_run=dry_run,
                                 use_cache=not no_cache,
                                 break_glass=plain_text(break_glass, "--break-glass"))
        try:
            result = service.promote(request, app.actor())
        except FloeError as err:
            gates = err.details.get("gate_results", [])
            err.envelope = {**(err.envelope or {}), "gate_results": gates}
            if gates and not out.structured:
                render_gate_failure(out, gates)
            raise
        payload = promote_payload(result, app.operator.name)
        if out.structured:
            if result.blocking:  # the error the real run would end with
                payload["error"] = _blocking_error(result.blocking[0])
            out.result(payload, success=not result.blocking)
        else:
            render_promotion(out, result)
            for warning in result.warnings:
                out.warn(warning)
        if result.blocking:
            raise SystemExit(int(result.blocking[0]["exit_code"]))
    finally:
        if not dry_run:
            after_command(app, out)


def _blocking_error(blocking: dict[str, Any]) -> dict[str, Any]:
    """A dry run's first blocking check as the ``error`` object of the real run's failure."""
    error = {key: blocking[key] for key in ("code", "message", "hint")}
    if blocking.get("details"):
        error["details"] = blocking["details"]
    return error


@click.command()
@click.option("--env", "environment", default=None, metavar="ENV", shell_complete=environments,
              help="Only this environment.")
@click.option("--history", type=click.IntRange(min=0, max=MAX_ROWS), default=0, show_default=True,
              help="Also show each environment's last N promotions and rollbacks.")
@click.option("--all", "every_kind", is_flag=True,
              help="With --history: every kind of entry, locks and refusals too.")
@floe_command()
def status(app: App, out: Output, environment: str | None, history: int,
           every_kind: bool) -> None:
    """What runs in each environment: version, digest, who promoted it, when, locks.

    JSON/YAML: the rows are under "environments".
    """
    rows = _status_rows(app, out, environment, history, every_kind)
    if out.structured:
        out.result({"environments": rows})
    else:
        render_status(out, rows, history)


def _status_rows(app: App, out: Output, environment: str | None, history: int,
                 every_kind: bool) -> list[dict[str, Any]]:
    """One row per environment in path order (or just ``environment``), read from the views
    after folding in what other ledgers recorded in the registry about those environments.

    The manifest summary comes from its cache when the file is unchanged; the backend
    (SQLite or PostgreSQL) is chosen by ``adapters.store.readers``.
    """
    from floe_ledger.adapters.manifest.summary import ManifestSummary, summary_of
    from floe_ledger.adapters.store.readers import status_rows
    from floe_ledger.domain.model.artifact_id import artifact_id

    summary = summary_of(app.settings.manifest_path, lambda: ManifestSummary(
        app.repository, app.manifest.artifacts.promotion.path.names))
    envs = list(summary.environments)
    if environment is not None:
        if environment not in envs:
            app.manifest.artifacts.promotion.path.index(environment)  # raises, naming the path
        envs = [environment]
    read = app.reconcile_service().environments(envs, app.actor())
    for warning in read.warnings:
        out.warn(warning)
    aid = str(artifact_id(summary.repository))
    rows = status_rows(app.ledger_location, app.settings.env, aid, envs, history,
                       catch_up=lambda: app.store.refresh_views(), every_kind=every_kind)
    if _agree(rows, read.facts):
        return rows
    # The views are derived: rows that differ from the verified events were edited.
    out.warn("the status views differ from what the ledger's events say; they were folded "
             "again from the events ('floe audit verify' names such edits)")
    app.store.rebuild_views()
    return status_rows(app.ledger_location, app.settings.env, aid, envs, history,
                       catch_up=lambda: app.store.refresh_views(), every_kind=every_kind)


def _agree(rows: list[dict[str, Any]], facts: dict[str, Any]) -> bool:
    return all((r["version"], r["digest"], bool(r["locked"])) == (
        facts[r["environment"]].version, facts[r["environment"]].digest,
        facts[r["environment"]].locked) for r in rows)


@click.command()
@click.argument("version", shell_complete=versions)
@click.option("--env", "environment", required=True, metavar="ENV", shell_complete=environments,
              help="Environment to roll back.")
@click.option("--reason", default=None, help="Why (recorded; prompted for on a terminal).")
@click.option("--dry-run", is_flag=True,
              help="Show the impact analysis; write nothing; exit as the real run would.")
@click.option("-y", "--yes", is_flag=True,
              help="Confirm a rollback the impact analysis says is RISKY (asked on a terminal).")
@click.option("--force", is_flag=True, help="Roll back even if the impact analysis says BLOCKED.")
@click.option("--break-glass", default=None, metavar="REASON",
              help="Enter a locked environment (recorded; needs an authenticated operator, "
              "in allowed_groups or break_glass_groups where the environment lists them).")
@floe_command(traced=True)
def rollback(app: App, out: Output, version: str, environment: str, reason: str | None,
             dry_run: bool, yes: bool, force: bool, break_glass: str | None) -> None:
    """Re-point ENV to VERSION, a version promoted to it before.

    Writes VERSION-ENV-rollback-N (immutable) and moves latest-ENV; immutable tags are
    untouched. The impact analysis lists the versions it undoes, later environments that run
    newer versions, semver-major steps, the files that change or disappear and affected
    dependents, with a risk: SAFE goes ahead; RISKY asks on a terminal and needs --yes
    otherwise (exit 2); BLOCKED needs --force (exit 9). --dry-run exits as the real run would.
    """
    from floe_ledger.domain.services.requests import RollbackRequest

    shown: list[bool] = []

    def ask(impact: dict[str, Any]) -> bool:
        """On a terminal: the analysis on stderr, then the question (default no)."""
        render_impact(out.err_console.print, impact)
        shown.append(True)
        return click.confirm(f"Roll {environment} back to {version}? The impact analysis "
                             "says RISKY", default=False, err=True)

    try:
        # a dry run needs no reason, but refuses one the real run would refuse
        text = plain_text(reason, "--reason") if dry_run else require_reason(reason, "rollback")
        req = RollbackRequest(version, environment, text or "", dry_run=dry_run, force=force,
                              break_glass=plain_text(break_glass, "--break-glass"), yes=yes,
                              confirm=ask if sys.stdin.isatty() else None)
        result = app.rollback_service().rollback(req, app.actor())
        if out.structured:
            out.result(rollback_payload(result, text, app.operator.name),
                       success=not result.blocking,
                       error={k: result.blocking[0][k] for k in ("code", "message", "hint")}
                       if result.blocking else None)
        else:
            render_rollback(out, result, text or "")
            if result.impact and not shown:
                render_impact(out.console.print, result.impact)
        if result.blocking:
            raise SystemExit(int(result.blocking[0]["exit_code"]))
    finally:
        if not dry_run:
            after_command(app, out)


@click.command()
@click.option("--env", "environment", required=True, metavar="ENV", shell_complete=environments)
@click.option("--reason", default=None, help="Why (recorded; prompted for on a terminal).")
@floe_command(traced=True)
def lock(app: App, out: Output, environment: str, reason: str | None) -> None:
    """Lock an environment: promotions and rollbacks into it are refused (exit 13) until
    unlocked."""
    _set_lock(app, out, environment, reason, locking=True)


@click.command()
@click.option("--env", "environment", required=True, metavar="ENV", shell_complete=environments)
@click.option("--reason", default=None, help="Why (recorded; prompted for on a terminal).")
@floe_command(traced=True)
def unlock(app: App, out: Output, environment: str, reason: str | None) -> None:
    """Unlock an environment: promotions and rollbacks resume."""
    _set_lock(app, out, environment, reason, locking=False)


def _set_lock(app: App, out: Output, environment: str, reason: str | None, *,
              locking: bool) -> None:
    try:
        text = require_reason(reason, "lock" if locking else "unlock")
        ops, actor = app.lock_service(), app.actor()
        if locking:
            changed = ops.lock(environment, text, actor)
        else:
            changed = ops.unlock(environment, text, actor)
        for warning in ops.warnings:
            out.warn(warning)
        current = ops.current_lock(environment, actor)
        lock = current.as_dict() if current is not None else None
        if out.structured:
            out.result(lock_payload(environment, changed, lock, text, app.operator.name))
        else:
            render_lock(out, environment, changed, lock, text, app.operator.name,
                        locking=locking)
    finally:
        after_command(app, out)


@click.command()
@click.option("--check", is_flag=True,
              help="Only report what is behind; write nothing (exit 14 if a replica is behind).")
@floe_command(traced=True)
def sync(app: App, out: Output, check: bool) -> None:
    """Copy to every replica the tags, artifacts, signatures and records it lacks.

    The ledger says which tags the primary holds (promotions, rollback tags,
    latest-ENV); each replica's tags are read from its own headers and re-pointed or
    written where they differ. Blobs stream from the primary into each replica
    (never whole in memory, up to 4 at once; each checked against its digest, and
    one that does not match is never stored). Exit 5 if a replica could not be
    brought level.

    \b
    Examples:
      floe platform sync
      floe platform sync --check -o json
    """
    with progress(out, "checking replicas" if check else "syncing replicas") as bar:
        service = app.sync_service(bar)
        result = service.check() if check else service.sync()
    rows = [r.as_dict() for r in result.replicas]
    code = result.exit_code
    if out.structured:
        out.result({"expected_tags": result.expected_tags, "replicas": rows}, success=code == 0)
    else:
        from floe_ledger.cli.render.text import escape

        for row in rows:
            state = row.get("status") or ("level" if row.get("level") else "behind")
            why = f" ({row['error']})" if row.get("error") else ""
            out.console.print(escape(f"{row['uri']}: {state}{why}"))
    if code:
        raise SystemExit(code)


for _command in (promote, status, rollback, lock, unlock, sync):
    platform.add_command(_command)

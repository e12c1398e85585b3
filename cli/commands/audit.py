"""``floe audit``: prove the ledger, replay it as of a moment, query it, export it, anchor it.

    floe audit verify                                  # every stream from its first event
    floe audit verify --registry                       # + drift and the registry records
    floe audit verify --checkpoint cp.json --public-key cp.pub
    floe audit replay --as-of 2026-11-20T14:30:00Z
    floe audit history --env prod --since 2026-11-01 -o json
    floe audit export --format sqlite -O ledger.db     # datasette ledger.db
    floe audit checkpoint --key cp.pem -O cp.json

Exit 14 when a check fails: the first broken event is named (artifact, version,
kind, reason), and every tag moved or deleted outside floe is listed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.options import manifest_option
from floe_ledger.cli.output import Output, handle_errors, output_option
from floe_ledger.domain.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])
PathType = click.Path(path_type=Path, dir_okay=False)


def _app(manifest: str | None, ledger: str | None) -> App:
    env = dict(os.environ)
    if ledger:
        is_url = ledger.startswith(("sqlite:", "postgresql://", "postgres://"))
        env["FLOE_LEDGER_URL"] = ledger if is_url else f"sqlite:///{Path(ledger).absolute()}"
    return App(Settings.from_options(manifest, env))


def ledger_option(func: F) -> F:
    return click.option("--ledger", default=None, metavar="PATH|URL",
                        help="The ledger to read (a SQLite file or FLOE_LEDGER_URL form); "
                        "default: beside manifest.yaml.")(func)


def export_option(func: F) -> F:
    return click.option("--export", "export", type=PathType, default=None,
                        help="Read a JSON Lines export instead of the ledger.")(func)


@click.group()
def audit() -> None:
    """Prove the ledger complete and unaltered, and query it as an auditor."""


@audit.command()
@click.option("--registry", "check_registry", is_flag=True,
              help="Also compare the live tags and the registry records with the ledger.")
@click.option("--checkpoint", type=PathType, default=None,
              help="A signed checkpoint whose heads the ledger must still hold.")
@click.option("--public-key", type=PathType, default=None, help="PEM key of the checkpoint.")
@export_option
@ledger_option
@manifest_option
@output_option
@handle_errors
def verify(check_registry: bool, checkpoint: Path | None, public_key: Path | None,
           export: Path | None, ledger: str | None, manifest: str | None, output: str,
           out: Output) -> None:
    """Replay every stream from its first event (never a snapshot) and check every hash.

    Names the first event that breaks (edited, removed, reordered, or truncated when a
    registry record or a checkpoint saw a newer head) and exits 14.
    """
    from floe_ledger.cli import audit_ops
    from floe_ledger.cli.render.audit import render_verify

    app = _app(manifest, ledger)
    out.trace_id = app.trace_id
    try:
        outcome = audit_ops.verify(app, audit_ops.ledger_rows(app, export),
                                   registry=check_registry, checkpoint=checkpoint,
                                   public_key=public_key)
        if not outcome.ok:
            if not out.structured:
                render_verify(out, outcome)
            raise outcome.error()
        if out.structured:
            out.result(outcome.payload())
        else:
            render_verify(out, outcome)
    finally:
        app.close()


@audit.command()
@click.option("--as-of", "as_of", required=True, metavar="TIME",
              help="ISO 8601 time (Z or offset; naive is UTC), a date, or 'now'.")
@export_option
@ledger_option
@manifest_option
@output_option
@handle_errors
def replay(as_of: str, export: Path | None, ledger: str | None, manifest: str | None,
           output: str, out: Output) -> None:
    """Every environment's state as it was at TIME, folded from the events up to then."""
    from floe_ledger.adapters.audit_log import decoded
    from floe_ledger.cli import audit_ops
    from floe_ledger.cli.render.audit import render_replay
    from floe_ledger.projections.audit_replay import AsOfReplay

    moment = audit_ops.parse_time(as_of, "--as-of")
    app = _app(manifest, ledger)
    out.trace_id = app.trace_id
    try:
        fold = AsOfReplay(moment)
        for _, event in decoded(audit_ops.ledger_rows(app, export)):
            fold.feed(event)
        payload = {"as_of": moment.isoformat(), "events": fold.events,
                   "artifacts": [a.as_dict() for a in fold.result()]}
        if out.structured:
            out.result(payload)
        else:
            render_replay(out, payload)
    finally:
        app.close()


@audit.command()
@click.option("--env", "environments", multiple=True, metavar="ENV", help="Only these (repeat).")
@click.option("--digest", default=None, help="Only this digest (or a prefix of its hex).")
@click.option("--operator", default=None, help="Only this operator.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Event kind or alias: promote, promotion, reject, rollback, lock, unlock, "
              "gate, signature, tag (repeat).")
@click.option("--since", default=None, metavar="TIME", help="At or after TIME.")
@click.option("--until", default=None, metavar="TIME", help="At or before TIME.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="The newest N only.")
@export_option
@ledger_option
@manifest_option
@output_option
@handle_errors
def history(environments: tuple[str, ...], digest: str | None, operator: str | None,
            kinds: tuple[str, ...], since: str | None, until: str | None, limit: int | None,
            export: Path | None, ledger: str | None, manifest: str | None, output: str,
            out: Output) -> None:
    """Every decision in the ledger, newest first, filtered."""
    from floe_ledger.adapters.audit_log import decoded
    from floe_ledger.cli import audit_ops
    from floe_ledger.cli.render.audit import render_history
    from floe_ledger.projections.audit_replay import HistoryFilter, HistoryFold, kinds_for

    try:
        wanted = kinds_for(kinds)
    except ValueError as err:
        raise UsageError(f"--kind: {err}", hint="see 'floe audit history --help'") from err
    keep = HistoryFilter(
        environments=environments, digest=digest, operator=operator, kinds=wanted,
        since=audit_ops.parse_time(since, "--since") if since else None,
        until=audit_ops.parse_time(until, "--until") if until else None,
    )
    app = _app(manifest, ledger)
    out.trace_id = app.trace_id
    try:
        fold = HistoryFold(keep, limit)
        for position, event in decoded(audit_ops.ledger_rows(app, export)):
            fold.feed(position, event)
        entries = [e.as_dict() for e in fold.entries()]
        if out.structured:
            out.result({"count": len(entries), "entries": entries})
        else:
            render_history(out, entries)
    finally:
        app.close()


@audit.command()
@click.option("--format", "-f", "fmt", type=click.Choice(["jsonl", "sqlite"]), required=True,
              help="JSON Lines, or a SQLite file built with sqlite-utils (opens in Datasette).")
@click.option("-O", "--out", "out_path", type=PathType, required=True, help="File to write.")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@ledger_option
@manifest_option
@output_option
@handle_errors
def export(fmt: str, out_path: Path, force: bool, ledger: str | None, manifest: str | None,
           output: str, out: Output) -> None:
    """Write every event with its hash to PATH, for the auditor's own tools."""
    from floe_ledger.adapters.export import export_jsonl, export_sqlite
    from floe_ledger.cli import audit_ops

    app = _app(manifest, ledger)
    out.trace_id = app.trace_id
    try:
        rows = audit_ops.ledger_rows(app)
        writer = export_jsonl if fmt == "jsonl" else export_sqlite
        summary = writer(rows, out_path, force=force)
        if out.structured:
            out.result(summary.as_dict())
        else:
            out.console.print(f"exported {summary.events} events of {summary.streams} "
                              f"stream(s) to {summary.path} ({fmt})")
    finally:
        app.close()


@audit.command()
@click.option("--key", type=PathType, required=True,
              help="PKCS#8 PEM Ed25519 or ECDSA private key (password in "
              "FLOE_CHECKPOINT_KEY_PASSWORD if encrypted).")
@click.option("-O", "--out", "out_path", type=PathType, required=True, help="File to write.")
@ledger_option
@manifest_option
@output_option
@handle_errors
def checkpoint(key: Path, out_path: Path, ledger: str | None, manifest: str | None,
               output: str, out: Output) -> None:
    """Verify the ledger, then sign every stream's head and the time into a JSON file.

    Keep the file outside the ledger; 'floe audit verify --checkpoint FILE --public-key PEM'
    then proves no event it covers was deleted or changed.
    """
    from floe_ledger.cli import audit_ops

    app = _app(manifest, ledger)
    out.trace_id = app.trace_id
    try:
        password = app.settings.env.get("FLOE_CHECKPOINT_KEY_PASSWORD")
        result = audit_ops.checkpoint(app, key, out_path,
                                      password.encode() if password else None)
        if out.structured:
            out.result(result)
        else:
            out.console.print(f"checkpoint of {len(result['heads'])} stream(s), "
                              f"{result['events']} events, signed ({result['algorithm']}) "
                              f"to {result['path']}")
    finally:
        app.close()

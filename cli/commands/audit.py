"""``floe audit``: prove the ledger, replay it as of a moment, query it, export it, anchor it.

    floe audit verify                                  # every stream from its first event
    floe audit verify --registry                       # + drift and the registry records
    floe audit verify --checkpoint cp.json --public-key cp.pub
    floe audit replay --as-of 2026-11-20T14:30:00Z
    floe audit history --env prod --since 2026-11-01 -o json
    floe audit export --format sqlite -O ledger.db     # datasette ledger.db
    floe audit checkpoint --key cp.pem -O cp.json
    floe audit archive                                 # upload the archive outbox now
    floe audit verify --archive s3://floe-audit/prod   # prove the ledger against the archive

Exit 14 when a check fails: the first broken event is named (artifact, version,
kind, reason), and every tag moved or deleted outside floe is listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.commands.audit_archive import archive, archive_object
from floe_ledger.cli.complete import environments as complete_environments
from floe_ledger.cli.options import MAX_ROWS, floe_command, writing
from floe_ledger.cli.output import Output
from floe_ledger.cli.progress import progress, shows_progress
from floe_ledger.domain.model.errors import NotFoundError, UsageError, quoted

if TYPE_CHECKING:
    from floe_ledger.domain.model.config import AuditConfig

F = TypeVar("F", bound=Callable[..., Any])
PathType = click.Path(path_type=Path, dir_okay=False)


def export_option(func: F) -> F:
    return click.option("--export", "export", type=PathType, default=None,
                        help="Read a JSON Lines export instead of the ledger.")(func)


@click.group()
def audit() -> None:
    """Prove the ledger complete and unaltered, and query it as an auditor."""


@click.command()
@click.option("--registry", "check_registry", is_flag=True,
              help="Also compare the live tags and the registry records with the ledger.")
@click.option("--checkpoint", type=PathType, default=None,
              help="A signed checkpoint whose heads the ledger must still hold.")
@click.option("--public-key", type=PathType, default=None, help="PEM key of the checkpoint.")
@click.option("--archive", "archive_url", default=None, metavar="s3://BUCKET/PREFIX",
              help="A write-once archive every archived event must still match.")
@export_option
@floe_command(traced=True, ledger_option=True)
def verify(app: App, out: Output, check_registry: bool, checkpoint: Path | None,
           public_key: Path | None, archive_url: str | None, export: Path | None) -> None:
    """Replay every stream from its first event (never a snapshot) and check every hash.

    Names the first event that breaks (edited, removed, reordered, or truncated when a
    registry record, a checkpoint or the archive saw a newer head) and exits 14. With
    --archive, every event in the archive must be in the ledger with the same hash; ledger
    events newer than the archive are counted as not yet archived.

    \b
    Examples:
      floe audit verify
      floe audit verify --registry -o json
      floe audit verify --checkpoint head.json --public-key audit.pub
      floe audit verify --archive s3://floe-audit/prod-ledger
    """
    from floe_ledger.adapters.audit import verify as audit_ops
    from floe_ledger.cli.render.audit import render_verify

    source = _archive_source(app, archive_url)
    ledger = export is None
    try:
        rows = audit_ops.ledger_rows(app, export)
    except NotFoundError:
        if source is None or export is not None:
            raise
        rows, ledger = iter(()), False  # no ledger at all: the archive says what is gone
    with progress(out, "verifying events", _size(app, out) if ledger else None) as bar:
        outcome = audit_ops.verify_ledger(app, bar.track(rows), registry=check_registry,
                                          checkpoint=checkpoint, public_key=public_key,
                                          snapshots=ledger, archive=source)
    if not out.structured:
        render_verify(out, outcome)
    if not outcome.ok:
        raise outcome.error()
    if out.structured:
        out.result(outcome.payload())


@click.command()
@click.option("--as-of", "as_of", required=True, metavar="TIME",
              help="ISO 8601 time (Z or offset; naive is UTC), a date, or 'now'.")
@export_option
@floe_command(ledger_option=True)
def replay(app: App, out: Output, as_of: str, export: Path | None) -> None:
    """Every environment's state as it was at TIME, folded from the events up to then."""
    from floe_ledger.adapters.audit import verify as audit_ops
    from floe_ledger.adapters.audit.events import decoded
    from floe_ledger.cli.render.audit import render_replay
    from floe_ledger.projections.audit_replay import AsOfReplay

    moment = audit_ops.parse_time(as_of, "--as-of")
    out.trace_id = app.trace_id  # traced only once the arguments are known to be good
    fold = AsOfReplay(moment)
    for _, event in decoded(audit_ops.ledger_rows(app, export)):
        fold.feed(event)
    payload = {"as_of": moment.isoformat(), "events": fold.events,
               "artifacts": [a.as_dict() for a in fold.result()]}
    if out.structured:
        out.result(payload)
    else:
        render_replay(out, payload)


@click.command()
@click.option("--env", "environments", multiple=True, metavar="ENV",
              shell_complete=complete_environments, help="Only these (repeat).")
@click.option("--digest", default=None, help="Only this digest (or a prefix of its hex).")
@click.option("--operator", default=None, help="Only this operator.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Event kind or alias: promote, promotion, reject, rollback, lock, unlock, "
              "gate, signature, tag, gc (repeat).")
@click.option("--since", default=None, metavar="TIME", help="At or after TIME.")
@click.option("--until", default=None, metavar="TIME", help="At or before TIME.")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_ROWS), default=None,
              help="The newest N only.")
@export_option
@floe_command(ledger_option=True)
def history(app: App, out: Output, environments: tuple[str, ...], digest: str | None,
            operator: str | None, kinds: tuple[str, ...], since: str | None,
            until: str | None, limit: int | None, export: Path | None) -> None:
    """Every decision in the ledger, newest first, filtered."""
    from floe_ledger.adapters.audit import verify as audit_ops
    from floe_ledger.adapters.audit.events import decoded
    from floe_ledger.cli.render.audit import render_history
    from floe_ledger.projections.audit_replay import HistoryFilter, HistoryFold, kinds_for

    try:
        wanted = kinds_for(kinds)
    except ValueError as err:
        raise UsageError(f"--kind: {err}", hint="see 'floe audit history --help'") from err
    _check_filters(environments, digest)
    keep = HistoryFilter(
        environments=environments, digest=digest, operator=operator, kinds=wanted,
        since=audit_ops.parse_time(since, "--since") if since is not None else None,
        until=audit_ops.parse_time(until, "--until") if until is not None else None,
    )
    out.trace_id = app.trace_id  # traced only once the arguments are known to be good
    fold = HistoryFold(keep, limit)
    for position, event in decoded(audit_ops.ledger_rows(app, export)):
        fold.feed(position, event)
    entries = [e.as_dict() for e in fold.entries()]
    if out.structured:
        out.result({"count": len(entries), "entries": entries})
    else:
        render_history(out, entries)


_DIGEST_PREFIX = re.compile(r"(?:sha256:)?[0-9a-f]{1,64}\Z")


def _check_filters(environments: tuple[str, ...], digest: str | None) -> None:
    """--env takes environment names, --digest a digest or a prefix of its hex (exit 2)."""
    from floe_ledger.domain.model.values import ENV_NAME_RE

    for env in environments:
        if not ENV_NAME_RE.match(env):
            raise UsageError(f"--env: not an environment name: {quoted(env)}",
                             hint="lower-case letters and digits, starting with a letter")
    if digest is not None and not _DIGEST_PREFIX.match(digest):
        raise UsageError(f"--digest: not a digest or a prefix of its hex: {quoted(digest)}",
                         hint="e.g. sha256:4bf92f35... or 4bf92f35")


@click.command()
@click.option("--format", "-f", "fmt", type=click.Choice(["jsonl", "sqlite"]), required=True,
              help="JSON Lines, or a SQLite file built with sqlite-utils (opens in Datasette).")
@click.option("-O", "--out", "out_path", type=PathType, required=True, help="File to write.")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@floe_command(traced=True, ledger_option=True)
def export(app: App, out: Output, fmt: str, out_path: Path, force: bool) -> None:
    """Write every event with its hash to PATH, for the auditor's own tools."""
    from floe_ledger.adapters.audit import verify as audit_ops
    from floe_ledger.adapters.audit.export import export_jsonl, export_sqlite

    rows = audit_ops.ledger_rows(app)
    writer = export_jsonl if fmt == "jsonl" else export_sqlite
    with writing(out_path), progress(out, "exporting events", _size(app, out)) as bar:
        summary = writer(bar.track(rows), out_path, force=force)
    if out.structured:
        out.result(summary.as_dict())
    else:
        out.console.print(f"exported {summary.events} events of {summary.streams} "
                          f"stream(s) to {summary.path} ({fmt})")


@click.command()
@click.option("--key", type=PathType, required=True,
              help="PKCS#8 PEM Ed25519 or ECDSA private key (password in "
              "FLOE_CHECKPOINT_KEY_PASSWORD if encrypted).")
@click.option("-O", "--out", "out_path", type=PathType, required=True, help="File to write.")
@floe_command(traced=True, ledger_option=True)
def checkpoint(app: App, out: Output, key: Path, out_path: Path) -> None:
    """Verify the ledger, then sign every stream's head and the time into a JSON file.

    Keep the file outside the ledger; 'floe audit verify --checkpoint FILE --public-key PEM'
    then proves no event it covers was deleted or changed.
    """
    from floe_ledger.adapters.audit import verify as audit_ops

    password = app.settings.env.get("FLOE_CHECKPOINT_KEY_PASSWORD")
    with writing(out_path):
        result = audit_ops.create_checkpoint(app, key, out_path,
                                             password.encode() if password else None)
    configured = _audit(app)
    if configured is not None and configured.sinks():  # ARCH-03: write-once too
        from floe_ledger.adapters.archive.objects import checkpoint_object
        from floe_ledger.adapters.audit.checkpoint import read_checkpoint

        archive_object(app, out, checkpoint_object(read_checkpoint(out_path)))
    if out.structured:
        out.result(result)
    else:
        out.console.print(f"checkpoint of {len(result['heads'])} stream(s), "
                          f"{result['events']} events, signed ({result['algorithm']}) "
                          f"to {result['path']}")


def _archive_source(app: App, url: str | None) -> tuple[Any, str] | None:
    """The archive to prove the ledger against, and its location."""
    if url is None:
        return None
    from floe_ledger.adapters.archive.s3 import reader_for_url

    configured = _audit(app)
    reader = reader_for_url(url, configured.s3 if configured is not None else None)
    return reader, reader.location()


def _audit(app: App) -> AuditConfig | None:
    """``artifacts.audit`` when there is a manifest (audit commands also run without one)."""
    if not app.settings.manifest_path.is_file():
        return None
    return app.manifest.artifacts.audit


def _size(app: App, out: Output) -> int | None:
    """The ledger's events, for a progress bar: asked only when one is shown."""
    return app.store.max_position() if shows_progress(out) else None


for _command in (verify, replay, history, export, checkpoint, archive):
    audit.add_command(_command)

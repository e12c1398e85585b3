"""``floe audit archive``: upload the archive outbox now; and the upload after each command.

    floe audit archive                 # queue every event not yet archived, upload it all
    floe audit archive -o json         # counts, what failed, what is still queued

Commands that write events call :func:`archive_after` at their end (with the webhooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output
from floe_ledger.cli.progress import progress

if TYPE_CHECKING:
    from floe_ledger.domain.services.audit_sinks import ArchiveObject, SinkContext


def sink_context(app: App) -> SinkContext:
    from floe_ledger.domain.services.audit_sinks import SinkContext

    return SinkContext(env=app.settings.env, ledger=app.ledger_location.display,
                       registry=lambda: app.registry)


def archive_after(app: App, out: Output) -> list[str]:
    """Archive the events the command wrote, best effort; warnings go to stderr.

    Never raises and never changes the command's exit code (ARCH-05); costs nothing when
    ``artifacts.audit`` configures no sink.
    """
    try:
        audit = app.manifest.artifacts.audit
        if not audit.sinks():
            return []
        from floe_ledger.adapters.archive.drain import archive_after_command

        warnings = archive_after_command(app.store, audit, sink_context(app))
    except Exception:  # the command's own error (if any) is what the user must see
        return []
    for warning in warnings:
        out.warn(warning)
    return warnings


def archive_object(app: App, out: Output, obj: ArchiveObject) -> list[str]:
    """Queue and upload one object (a signed checkpoint) to every sink that takes it."""
    from floe_ledger.adapters.archive.drain import queue_object

    warnings = queue_object(app.store, app.manifest.artifacts.audit, sink_context(app), obj)
    for warning in warnings:
        out.warn(warning)
    return warnings


@click.command()
@click.option("--deadline", type=click.FloatRange(min=1, max=86400), default=600.0,
              show_default=True, help="Seconds for the whole run.")
@floe_command(traced=True, ledger_option=True)
def archive(app: App, out: Output, deadline: float) -> None:
    """Write every event and checkpoint not yet archived to the audit sinks, now.

    Queues the ledger's events that no sink has yet (in batches of 500), then uploads
    everything queued, failed uploads included. Exits 0 even when an upload fails again
    (it is listed and stays queued); exit 2 when no sink is configured or one cannot be
    built (boto3 missing: pip install floe-ledger[s3]).

    \b
    Examples:
      floe audit archive
      floe audit archive -o json
    """
    from floe_ledger.adapters.archive.drain import archive_outbox, drain, event_sinks
    from floe_ledger.adapters.archive.sinks import build_sinks
    from floe_ledger.adapters.observability.redact import secret_values
    from floe_ledger.domain.model.errors import ConfigError

    config = app.manifest.artifacts.audit
    if not config.sinks():
        raise ConfigError("no audit sink is configured (artifacts.audit)",
                          hint="add artifacts.audit.s3: {bucket, prefix, retention_days, "
                          "mode} to manifest.yaml")
    sinks = build_sinks(config, sink_context(app))
    with archive_outbox(app.store, app.settings.env) as box:
        queued = box.enqueue_events(app.store, event_sinks(sinks))
        todo = len(box.pending(list(sinks)))
        with progress(out, "archiving", todo) as bar:
            report = drain(box, sinks, deadline_seconds=deadline, due_only=False,
                           on_object=bar.advance, secrets=secret_values(app.settings.env))
        left = [p.as_dict() for p in box.pending(list(sinks), limit=1000)]
        counts = box.counts()
    payload = _payload(sinks, queued, report, left, counts)
    if out.structured:
        out.result(payload)
        return
    out.console.print(f"archived {len(report.written)} object(s) "
                      f"({len(report.already)} already there), failed {len(report.failed)}, "
                      f"still queued {len(left)} ({report.seconds:.2f} s)")
    for warning in report.warnings:
        out.warn(warning)


def _payload(sinks: dict[str, Any], queued: int, report: Any, left: list[dict[str, Any]],
             counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {"sinks": [{"name": name, "location": sink.location(),
                       **counts.get(name, {"archived": 0, "pending": 0})}
                      for name, sink in sinks.items()],
            "queued": queued, "written": len(report.written), "already": len(report.already),
            "failed": report.failed, "not_attempted": report.not_attempted, "pending": left,
            "warnings": report.warnings, "seconds": round(report.seconds, 3)}

"""``floe webhooks``: what is pending, and deliver it again (FR-040..044).

    floe webhooks status            # pending and failed deliveries
    floe webhooks status --all      # delivered ones too
    floe webhooks deliver -o json   # retry everything not delivered; exit 0 even if some fail

Commands that write events call :func:`notify_webhooks` at their end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import MAX_ROWS, floe_command
from floe_ledger.cli.output import Output
from floe_ledger.cli.render.webhooks import render_deliveries

if TYPE_CHECKING:
    from floe_ledger.adapters.webhooks.outbox import Delivery, Endpoint


def notify_webhooks(app: App, out: Output, *, deadline_seconds: float = 10.0) -> list[str]:
    """Deliver the webhooks for the events the command wrote; warnings go to stderr.

    Never raises and never changes the command's exit code (FR-043): safe in a
    ``finally`` block, even when the manifest itself failed to load.
    """
    try:
        hooks = app.manifest.artifacts.promotion.webhooks
        if not hooks:
            return []
        from floe_ledger.adapters.webhooks.delivery import notify_after_command

        warnings = notify_after_command(app.store, app.repository, hooks, app.settings.env,
                                        deadline_seconds=deadline_seconds)
    except Exception:  # the command's own error (if any) is what the user must see
        return []
    for warning in warnings:
        out.warn(warning)
    return warnings


@click.group()
def webhooks() -> None:
    """Webhook deliveries: list what is pending and deliver it again."""


def _log_to_stderr(app: App) -> None:
    """Delivery logs go to stderr, never into the JSON on stdout."""
    from floe_ledger.adapters.observability.structlog_setup import configure_logging

    configure_logging(app.settings.env)


def _iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _row(d: Delivery, labels: dict[str, str]) -> dict[str, Any]:
    return {"delivery_id": d.delivery_id, "endpoint": labels.get(d.endpoint_key,
                                                                  "(no longer configured)"),
            "event_type": d.event_type, "ledger_position": d.position, "state": d.state,
            "attempts": d.attempts, "rounds": d.rounds, "created_at": _iso_utc(d.created_at),
            "next_attempt_at": None if d.delivered_at else _iso_utc(d.next_attempt_at),
            "delivered_at": _iso_utc(d.delivered_at), "last_status": d.last_status,
            "last_error": d.last_error}


def _labels(eps: list[Endpoint]) -> dict[str, str]:
    from floe_ledger.adapters.webhooks.requests import endpoint_label

    return {ep.key: endpoint_label(ep) for ep in eps}


@click.command()
@click.option("--deadline", type=click.FloatRange(min=1, max=600), default=30.0,
              show_default=True, help="Seconds for the whole run, all endpoints together.")
@floe_command(traced=True)
def deliver(app: App, out: Output, deadline: float) -> None:
    """Deliver every pending or failed webhook now, all endpoints in parallel.

    Also picks up events a crashed command never announced. Exits 0 even when some
    deliveries fail again (they are listed and stay pending).
    """
    from floe_ledger.adapters.webhooks.delivery import deliver_pending, outbox_for
    from floe_ledger.adapters.webhooks.outbox import endpoints
    from floe_ledger.domain.model.artifact_id import artifact_id

    _log_to_stderr(app)
    hooks = app.manifest.artifacts.promotion.webhooks
    eps, stream = endpoints(hooks), str(artifact_id(app.repository))
    with outbox_for(app.store, app.settings.env) as box:
        if hooks:
            box.enqueue_new(app.store, eps, stream=stream, repository=app.repository)
        report = deliver_pending(box, stream, hooks, app.settings.env,
                                 deadline_seconds=deadline, due_only=False)
        box.prune_delivered()
        left = [_row(d, _labels(eps)) for d in box.deliveries(stream)]
    payload = {"delivered": len(report.delivered), "failed": len(report.failed),
               "not_attempted": len(report.not_attempted), "pending": left,
               "warnings": report.warnings, "seconds": round(report.seconds, 3)}
    if out.structured:
        out.result(payload)
        return
    if not hooks:
        out.console.print("no webhooks are configured (artifacts.promotion.webhooks)")
    out.console.print(f"delivered {len(report.delivered)}, failed {len(report.failed)}, "
                      f"still pending {len(left)} ({report.seconds:.2f} s)")
    for warning in report.warnings:
        out.warn(warning)
    if left:
        render_deliveries(out, left, "still pending")


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Also list delivered ones.")
@click.option("--limit", type=click.IntRange(min=1, max=MAX_ROWS), default=200, show_default=True)
@floe_command()
def status(app: App, out: Output, show_all: bool, limit: int) -> None:
    """Webhook deliveries not yet made (pending, or failed after repeated rounds)."""
    from floe_ledger.adapters.webhooks.delivery import outbox_for
    from floe_ledger.adapters.webhooks.outbox import endpoints
    from floe_ledger.domain.model.artifact_id import artifact_id

    _log_to_stderr(app)
    eps, stream = endpoints(app.manifest.artifacts.promotion.webhooks), str(
        artifact_id(app.repository))
    with outbox_for(app.store, app.settings.env) as box:
        found = box.deliveries(stream, include_delivered=show_all, limit=limit)
        tracked = box.tracked_position(stream)
    labels = _labels(eps)
    rows = [_row(d, labels) for d in found]
    if out.structured:
        out.result({"deliveries": rows, "tracked_position": tracked,
                    "endpoints": [{"index": ep.index, "endpoint": labels[ep.key],
                                   "events": list(ep.config.events)} for ep in eps]})
        return
    render_deliveries(out, rows, "webhook deliveries" if show_all else "pending webhook deliveries")


for _command in (deliver, status):
    webhooks.add_command(_command)

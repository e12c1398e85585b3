"""``floe metrics``: the four DORA metrics per environment, folded from the ledger.

    floe metrics                                   # every environment, the last 30 days
    floe metrics --env prod --since 7d -o json
    floe metrics --since 2026-11-01 --as-of 2026-12-01T00:00:00Z   # as an auditor replays it
    floe metrics --failure-window 4h
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.complete import environments as complete_environments
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output
from floe_ledger.domain.model.errors import FloeError, UsageError, quoted

_DURATION = re.compile(r"([0-9]{1,9})([smhdw])\Z")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

HELP = """The four DORA metrics per environment over a window, from the ledger's events.

\b
Definitions (per environment E; docs/metrics.md has the edge cases):
- deployment: a completed promotion into E (PromotionCompleted, or another
  ledger's promotion record). Rollbacks, refused promotions (a failed gate)
  and promotions still open are not deployments.
- deployment frequency: deployments into E in the window, and per day.
- lead time for changes: from a version's first deployment anywhere (its
  first environment) to its first deployment into E; one sample per version
  first deployed into E in the window (0 s in its first environment).
  Median (mean of the two middle values), p90 (nearest rank) and mean.
- change failure rate: failed deployments / deployments in the window. A
  deployment failed if E was later rolled back away from it, or rolled back
  to another version within --failure-window (default 24h) after it.
- time to restore: from a failed deployment to the next rollback of E or the
  next deployment into E that did not fail; median, p90, mean.
A value over no samples (an empty window) is null in JSON, '-' in the table.
Events stamped after --as-of are ignored: the metrics as they were then.

\b
Examples:
  floe metrics
  floe metrics --env prod --since 7d -o json
  floe metrics --since 2026-11-01 --as-of 2026-12-01T00:00:00Z
"""


@click.command(help=HELP)
@click.option("--env", "environments", multiple=True, metavar="ENV",
              shell_complete=complete_environments,
              help="Only these (repeat); default: the manifest's environments, or every one "
              "deployed to.")
@click.option("--since", default="30d", show_default=True, metavar="TIME|DURATION",
              help="Window start: an ISO 8601 time or date, or a duration before --as-of "
              "(30d, 12h, 2w).")
@click.option("--as-of", "as_of", default="now", show_default=True, metavar="TIME",
              help="Window end: ISO 8601 time (Z or offset; naive is UTC), a date, or 'now'.")
@click.option("--failure-window", default="24h", show_default=True, metavar="DURATION",
              help="A rollback this long after a deployment fails it (s, m, h, d, w).")
@click.option("--export", "export", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="Read a JSON Lines export instead of the ledger.")
@floe_command(ledger_option=True)
def metrics(app: App, out: Output, environments: tuple[str, ...], since: str, as_of: str,
            failure_window: str, export: Path | None) -> None:
    from floe_ledger.adapters.audit import verify as audit_ops
    from floe_ledger.adapters.audit.events import decoded
    from floe_ledger.cli.render.metrics import render_metrics
    from floe_ledger.projections.dora import DORA_KINDS, dora_metrics

    until = _utc(audit_ops.parse_time(as_of, "--as-of"), as_of, "--as-of")
    start = _since(since, until)
    window = _duration(failure_window, "--failure-window")
    names = _environments(app, environments)
    out.trace_id = app.trace_id  # traced only once the arguments are known to be good
    rows = (r for r in audit_ops.ledger_rows(app, export) if r.kind in DORA_KINDS)
    report = dora_metrics((event for _, event in decoded(rows)), environments=names,
                          since=start, until=until, failure_window=window)
    if out.structured:
        out.result(report.to_json())
    else:
        render_metrics(out, report)


def _duration(text: str, option: str) -> timedelta:
    match = _DURATION.match(text)
    try:
        if match is not None:
            return timedelta(**{_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        pass
    raise UsageError(f"{option}: not a duration: {quoted(text)}",
                     hint="a number and a unit: 90m, 24h, 30d, 2w")


def _since(text: str, until: datetime) -> datetime:
    from floe_ledger.adapters.audit import verify as audit_ops

    if not _DURATION.match(text):
        start = _utc(audit_ops.parse_time(text, "--since"), text, "--since")
    else:
        try:
            start = until - _duration(text, "--since")
        except OverflowError:
            raise UsageError(f"--since {quoted(text)} reaches before year 1",
                             hint="a shorter duration, or a time") from None
    if start > until:
        raise UsageError(f"--since {quoted(text)} is after --as-of",
                         hint="the window runs from --since to --as-of")
    return start


def _utc(moment: datetime, text: str, option: str) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise UsageError(f"{option}: out of range in UTC: {quoted(text)}",
                         hint="a time between years 1 and 9999 in UTC") from None


def _environments(app: App, given: tuple[str, ...]) -> list[str]:
    """--env, else the manifest's path; with no readable manifest (an auditor's copy of the
    ledger) every environment deployed to."""
    from floe_ledger.domain.model.values import ENV_NAME_RE

    for env in given:
        if not ENV_NAME_RE.match(env):
            raise UsageError(f"--env: not an environment name: {quoted(env)}",
                             hint="lower-case letters and digits, starting with a letter")
    if given:
        return list(dict.fromkeys(given))
    try:
        return list(app.manifest.artifacts.promotion.path.names)
    except FloeError:
        return []

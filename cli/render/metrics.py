"""The table of ``floe metrics``: one row per environment."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from floe_ledger.cli.output import Output

if TYPE_CHECKING:
    from floe_ledger.projections.dora import DoraReport


def duration(seconds: float | None) -> str:
    """``2d 3h``, ``4h 5m``, ``6m 7s``, ``8s``; ``-`` for none."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render_metrics(out: Output, report: DoraReport) -> None:
    from rich.table import Table

    from floe_ledger.cli.render.text import escape

    since, until = report.since.astimezone(UTC), report.until.astimezone(UTC)
    table = Table(title=f"DORA metrics {since:%Y-%m-%d %H:%M}Z .. {until:%Y-%m-%d %H:%M}Z "
                        f"(failure window {duration(report.failure_window.total_seconds())})")
    for header in ("ENV", "DEPLOYS", "PER DAY", "LEAD TIME p50", "LEAD p90", "FAILURE RATE",
                   "RESTORE p50"):
        table.add_column(header)
    for env in report.environments:
        per_day = "-" if env.deployments_per_day is None else f"{env.deployments_per_day:.2f}"
        table.add_row(escape(env.environment), str(env.deployments), per_day,
                      duration(env.lead_time.median), duration(env.lead_time.p90),
                      f"{_ratio(env.change_failure_rate)} ({env.failed_deployments}/"
                      f"{env.deployments})",
                      duration(env.time_to_restore.median))
    out.console.print(table)

"""The metrics page: the four DORA metrics per environment over a chosen window (UI-06).

The numbers come from the DORA projection (``projections/dora.py``, the one ``floe metrics``
prints), fed the same decoded events as every other page; this module only picks the
window from the query string and shapes the report for the template and its SVG charts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from floe_ledger.cli.web import reads
from floe_ledger.cli.web.charts import bar_chart
from floe_ledger.cli.web.filters import parse_moment
from floe_ledger.projections.dora import DEFAULT_FAILURE_WINDOW, dora_metrics

if TYPE_CHECKING:
    from floe_ledger.cli.app import App

WINDOWS = (7, 30, 90, 365)  # days offered by the form
MAX_DAYS = 3650
DEFAULT_DAYS = 30
FAILURE_WINDOW = DEFAULT_FAILURE_WINDOW  # floe metrics --failure-window's default (24h)

#: (key in the report's JSON, title, unit formatter name, chart unit)
METRICS = (
    ("deployment_frequency", "Deployment frequency", "per_day", "deployments per day"),
    ("lead_time", "Lead time for changes", "hours", "hours (median)"),
    ("change_failure_rate", "Change failure rate", "percent", "% of promotions"),
    ("time_to_restore", "Time to restore", "hours", "hours (median)"),
)


def window(query: Mapping[str, str], problems: list[str]) -> tuple[int, datetime, datetime]:
    """(days, since, until) from ``?days=N`` (1..3650) and ``?as_of=TIME`` (the window's end,
    as ``floe metrics --as-of``; default now); a bad value is a problem, its default used."""
    text = query.get("days") or str(DEFAULT_DAYS)
    days = int(text) if text.isdigit() else 0
    if not 1 <= days <= MAX_DAYS:
        problems.append(f"days: a whole number of days from 1 to {MAX_DAYS}")
        days = DEFAULT_DAYS
    until = parse_moment(query.get("as_of"), "as_of", problems) or datetime.now(UTC)
    return days, until - timedelta(days=days), until


def context(app: App, query: Mapping[str, str]) -> dict[str, Any]:
    problems: list[str] = []
    days, since, until = window(query, problems)
    envs = reads.environments(app)
    wanted = query.get("env") or ""
    if wanted and wanted not in envs:
        problems.append(f"env: not an environment of this path ({', '.join(envs)})")
        wanted = ""
    shown = [wanted] if wanted else envs
    report = dora_report(app, shown, since, until)
    rows = per_environment(report, shown)
    table = [(r["environment"], [(key, fmt, _number(r, key, fmt), _detail(r.get(key)))
                                 for key, _, fmt, _ in METRICS]) for r in rows]
    charts = [bar_chart(title, unit, [(env, cells[i][2]) for env, cells in table], fmt)
              for i, (_, title, fmt, unit) in enumerate(METRICS)]
    windows = sorted({*WINDOWS, days})
    return {"problems": problems, "days": days, "windows": windows, "env": wanted,
            "as_of": query.get("as_of") or "",
            "envs": envs, "since": since.isoformat(), "until": until.isoformat(),
            "table": table, "report": report, "charts": charts, "metrics": METRICS,
            "failure_window_hours": FAILURE_WINDOW.total_seconds() / 3600}


def dora_report(app: App, environments: list[str], since: datetime,
                until: datetime) -> dict[str, Any]:
    """The DORA projection's report as JSON, over this ledger's decoded events."""
    events = [event for _, event in reads.events(app)]
    report = dora_metrics(events, environments=environments, since=since, until=until,
                          failure_window=FAILURE_WINDOW)
    out: dict[str, Any] = report.to_json()
    return out


def per_environment(report: dict[str, Any], environments: list[str]) -> list[dict[str, Any]]:
    """One row per environment with the four metrics, whatever nesting the report uses:
    ``{"environments": {env: {...}}}`` or ``{"environments": [{"environment": env, ...}]}``."""
    found = report.get("environments", report)
    if isinstance(found, list):
        by_env = {str(item.get("environment")): item for item in found}
    else:
        by_env = {str(k): v for k, v in dict(found).items()}
    return [{"environment": env, **(by_env.get(env) or {})} for env in environments]


def _number(row: dict[str, Any], key: str, fmt: str) -> float | None:
    """The chart value of one metric: a number, or a dict's ``value``/``median_seconds``."""
    value = row.get(key)
    if isinstance(value, dict):
        for name in ("per_day", "median_seconds", "rate", "value"):
            if value.get(name) is not None:
                value = value[name]
                break
        else:
            return None
    if value is None:
        return None
    number = float(value)
    if fmt == "hours":
        return round(number / 3600, 2)
    if fmt == "percent":
        return round(number * 100, 1)
    return round(number, 3)


def _detail(value: Any) -> str:
    """What a number stands on: deployments, failures of deployments, samples and p90."""
    if not isinstance(value, dict):
        return ""
    if "failed" in value:
        return f"{value['failed']} of {value.get('deployments', 0)} deployments"
    if "per_day" in value:
        return f"{value.get('deployments', 0)} deployments"
    if "samples" in value:
        p90 = value.get("p90_seconds")
        tail = f", p90 {float(p90) / 3600:.2f} h" if p90 is not None else ""
        return f"{value['samples']} sample(s){tail}"
    return ""

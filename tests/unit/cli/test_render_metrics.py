"""What ``floe metrics`` prints on a terminal: one row per environment, '-' for no value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from floe_ledger.cli.render.metrics import duration, render_metrics
from floe_ledger.projections.dora import dora_metrics

pytestmark = pytest.mark.requirement("DORA-05")


def test_durations_show_their_two_largest_units() -> None:
    assert [duration(s) for s in (None, 0, 59.6, 3600, 5400, 90061)] == [
        "-", "0s", "1m", "1h", "1h 30m", "1d 1h"]


def test_an_empty_window_shows_dashes_not_zero_over_zero(terminal) -> None:
    paris = timezone(timedelta(hours=1))
    report = dora_metrics([], environments=["prod"], since=datetime(2026, 11, 1, 1, tzinfo=paris),
                          until=datetime(2026, 11, 8, tzinfo=UTC),
                          failure_window=timedelta(hours=4))
    render_metrics(terminal.out, report)
    text = "\n".join(terminal.lines())
    assert "DORA metrics 2026-11-01 00:00Z .. 2026-11-08 00:00Z (failure window 4h)" in text
    row = next(line for line in terminal.lines() if "prod" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "prod", "0", "0.00", "-", "-", "- (0/0)", "-"]

"""The version page's folds over real events in a real SQLite ledger (UI-02, UI-03), and the
metrics page's chart geometry (UI-06)."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ledger.adapters.audit.events import decoded, raw_events
from floe_ledger.cli.web.charts import HEIGHT, bar_chart
from floe_ledger.projections.version_trail import ReplicaFold, VersionTrail
from support.ledger_events import LedgerWriter

REPO = "oci://127.0.0.1:5999/acme/app"
V2 = "sha256:" + "cd" * 32


def ledger(tmp_path: Path) -> LedgerWriter:
    writer = LedgerWriter(tmp_path / ".floe" / "ledger.sqlite", REPO)
    writer.promote("v1.0.0", None, "dev")
    writer.promote("v1.0.0", "dev", "staging")
    writer.promote("v1.1.0", None, "dev", digest=V2)
    writer.reject("v1.1.0", "staging", "staging is locked")
    writer.rollback("v1.0.0", "dev", "bad <deploy>")
    return writer


@pytest.mark.requirement("UI-03")
def test_a_version_trail_has_each_promotion_refusal_and_rollback_in_order(tmp_path) -> None:
    writer = ledger(tmp_path)
    try:
        events = list(decoded(raw_events(writer.store)))
    finally:
        writer.close()
    first, second = VersionTrail("v1.0.0"), VersionTrail("v1.1.0")
    for position, event in events:
        first.feed(position, event)
        second.feed(position, event)
    assert [(s.kind, s.environment, s.state) for s in first.steps] == [
        ("promotion", "dev", "completed"), ("promotion", "staging", "completed"),
        ("rollback", "dev", "completed")]
    assert first.steps[1].source == "dev" and first.steps[2].reason == "bad <deploy>"
    assert first.steps[0].registries == [{"uri": "127.0.0.1:5999", "status": "ok"}]
    assert all(s.operator == "alice@example.com" for s in first.steps)
    assert len(first.steps[0].positions) == 4  # requested, its two tags, completed
    assert [(s.environment, s.state) for s in second.steps] == [("dev", "completed"),
                                                                ("staging", "rejected")]
    assert second.digest == V2 and second.steps[1].reason == "staging is locked"
    assert VersionTrail("v9.9.9").steps == []


@pytest.mark.requirement("UI-02")
def test_replicas_follow_what_went_live_last(tmp_path) -> None:
    writer = ledger(tmp_path)
    try:
        fold = ReplicaFold()
        for _, event in decoded(raw_events(writer.store)):
            fold.feed(event)
    finally:
        writer.close()
    assert fold.live["dev"].version == "v1.0.0" and fold.live["dev"].registries == ()
    assert fold.live["staging"].registries == ({"uri": "127.0.0.1:5999", "status": "ok"},)


@pytest.mark.requirement("UI-06")
def test_bars_scale_to_the_largest_value_and_none_draws_no_bar() -> None:
    chart = bar_chart("Lead time", "hours", [("dev", 0.0), ("staging", 4.0), ("prod", 8.0),
                                             ("qa", None)], "hours")
    heights = [b.height for b in chart.bars]
    assert heights[0] == 0 and heights[3] == 0 and heights[1] * 2 == pytest.approx(heights[2])
    assert all(b.y + b.height == pytest.approx(HEIGHT - 28) for b in chart.bars)
    assert "qa: no data" in chart.description and "prod: 8.0" in chart.description

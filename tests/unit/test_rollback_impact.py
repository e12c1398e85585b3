"""The impact analysis' pure parts (issue 14 item 1): what still stands in an environment
after promotions and rollbacks, the file diff, and the risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floe_ledger.domain.model.impact import ManifestOutline, _diff, _risk, _undone, in_effect
from floe_ledger.domain.model.state import Live

T0 = datetime(2026, 1, 1, tzinfo=UTC)
IMPACT = pytest.mark.requirement("FR-016", "RB-01", "RB-05", "RB-07")


def timeline(*steps: str) -> list[Live]:
    """``"v1"`` a promotion, ``"<v1"`` a rollback to v1."""
    return [Live(s.lstrip("<"), "sha256:" + s.lstrip("<"), "ci", T0 + timedelta(minutes=i),
                 "rollback" if s.startswith("<") else "promotion", str(i))
            for i, s in enumerate(steps)]


def versions(lives: list[Live]) -> list[str]:
    return [lv.version for lv in lives]


@IMPACT
def test_a_rollback_takes_off_what_stood_above_its_target() -> None:
    assert versions(in_effect(timeline("v1", "v2", "v3", "<v2"))) == ["v1", "v2"]
    assert versions(in_effect(timeline("v1", "v2", "v3", "<v1", "v4"))) == ["v1", "v4"]


@IMPACT
def test_a_version_an_earlier_rollback_undid_is_not_undone_again() -> None:
    lives = timeline("v1.2.3", "v1.2.4", "v2.0.0", "<v1.2.4")
    assert [u["version"] for u in _undone(lives, "v1.2.3")] == ["v1.2.4"]
    assert _undone(lives, "v1.2.3")[0]["via"] == "rollback"


@IMPACT
def test_rolling_forward_to_a_version_that_was_undone_replaces_only_what_runs() -> None:
    lives = timeline("v1", "v2", "v3", "<v1")
    assert [u["version"] for u in _undone(lives, "v2")] == ["v1"]


@IMPACT
@given(st.lists(st.sampled_from(["v1", "v2", "v3", "<v1", "<v2", "<v3"]), min_size=1))
def test_what_stands_ends_with_what_runs_and_never_holds_a_version_twice_in_a_row(
        steps: list[str]) -> None:
    lives = timeline(*steps)
    stack = in_effect(lives)
    assert stack[-1] is lives[-1]
    assert all(a.version != b.version for a, b in pairwise(stack))
    assert all(u["version"] != lives[-1].version for u in _undone(lives, lives[-1].version))


def outline(*files: tuple[str, str]) -> ManifestOutline:
    return ManifestOutline("sha256:m", layers=tuple((d, 1, t) for t, d in files))


@IMPACT
def test_a_file_whose_content_changed_is_changed_and_only_a_removed_one_is_risky() -> None:
    current = outline(("app.yaml", "sha256:a2"), ("tables.sql", "sha256:t"))
    changed = _diff(outline(("app.yaml", "sha256:a1"), ("tables.sql", "sha256:t")), current)
    assert [c["name"] for c in changed["layers"]["changed"]] == ["app.yaml"]
    assert changed["layers"]["removed"] == changed["layers"]["added"] == []
    assert _risk([], [], changed) == "SAFE"
    removed = _diff(outline(("app.yaml", "sha256:a1")), current)
    assert [r["title"] for r in removed["layers"]["removed"]] == ["tables.sql"]
    assert _risk([], [], removed) == "RISKY"
    assert _risk([], [{"satisfied": False}], changed) == "BLOCKED"
    assert _risk([{"kind": "semver-major"}], [{"satisfied": True}], changed) == "RISKY"


@IMPACT
def test_untitled_layers_are_compared_by_position() -> None:
    diff = _diff(outline(("", "sha256:x1"), ("", "sha256:y")),
                 outline(("", "sha256:x2"), ("", "sha256:y")))
    assert [c["name"] for c in diff["layers"]["changed"]] == ["layer 0"]

"""As-of replay, history filters and the tags the ledger wrote: pure folds over events."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import pytest

from floe_ledger.domain.model import events as ev
from floe_ledger.projections.audit_drift import ExpectedTag, TagFold, compare_tags
from floe_ledger.projections.audit_replay import (
    AsOfReplay,
    HistoryFilter,
    HistoryFold,
    kinds_for,
)
from support.audit_scenarios import T0, StepClock, Story, digest_of, timeline


@pytest.fixture(scope="module")
def story_and_moments() -> tuple[Story, dict[str, datetime]]:
    return timeline(StepClock())


def _state_at(story: Story, moment: datetime) -> dict[str, dict[str, object]]:
    fold = AsOfReplay(moment)
    for event in story.events:
        fold.feed(event)
    (art,) = fold.result() or [None]
    return {} if art is None else {k: v.as_dict() for k, v in art.environments.items()}


@pytest.mark.requirement("SC-003")
@pytest.mark.parametrize(("moment", "dev", "staging", "locked"), [
    ("dev1", "v1.0.0", None, False),
    ("staging1", "v1.0.0", "v1.0.0", False),
    ("dev2", "v1.1.0", "v1.0.0", False),
    ("locked", "v1.1.0", "v1.0.0", True),
    ("unlocked", "v1.1.0", "v1.0.0", False),
    ("staging2", "v1.1.0", "v1.1.0", False),
    ("rolled_back", "v1.1.0", "v1.0.0", False),
])
def test_replay_as_of_a_moment_between_steps(story_and_moments: tuple[Story, dict[str, datetime]],
                                             moment: str, dev: str, staging: str | None,
                                             locked: bool) -> None:
    story, moments = story_and_moments
    envs = _state_at(story, moments[moment])
    assert envs["dev"]["version"] == dev
    assert envs["dev"]["digest"] == digest_of(dev)
    assert envs.get("staging", {}).get("version") == staging
    assert bool(envs.get("staging", {}).get("locked")) is locked


def test_replay_knows_who_and_how(story_and_moments: tuple[Story, dict[str, datetime]]) -> None:
    story, moments = story_and_moments
    promoted = _state_at(story, moments["staging2"])["staging"]
    assert (promoted["promoted_by"], promoted["via"]) == ("bob", "promotion")
    rolled = _state_at(story, moments["rolled_back"])["staging"]
    assert rolled["via"] == "rollback"
    locked = _state_at(story, moments["locked"])["staging"]
    assert locked["lock_reason"] == "release freeze"


def test_replay_before_the_first_event_is_empty(
        story_and_moments: tuple[Story, dict[str, datetime]]) -> None:
    story, moments = story_and_moments
    assert _state_at(story, moments["before"]) == {}


def test_an_event_stamped_exactly_at_the_moment_counts(
        story_and_moments: tuple[Story, dict[str, datetime]]) -> None:
    story, _ = story_and_moments
    assert _state_at(story, T0 + timedelta(hours=1))["staging"]["version"] == "v1.0.0"


def test_replay_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        AsOfReplay(datetime(2026, 11, 1))


def _history(story: Story, keep: HistoryFilter, limit: int | None = None) -> list[dict[str, str]]:
    fold = HistoryFold(keep, limit)
    for position, event in enumerate(story.events, 1):
        fold.feed(position, event)
    return [e.as_dict() for e in fold.entries()]


@pytest.mark.requirement("SC-003")
def test_history_filters_by_environment_and_kind(
        story_and_moments: tuple[Story, dict[str, datetime]]) -> None:
    story, _ = story_and_moments
    found = _history(story, HistoryFilter(environments=("staging",),
                                          kinds=kinds_for(("promote", "rollback"))))
    assert [(e["kind"], e["version"]) for e in found] == [
        ("RolledBack", "v1.0.0"), ("PromotionCompleted", "v1.1.0"),
        ("PromotionCompleted", "v1.0.0")]


def test_history_filters_by_operator_digest_and_time(
        story_and_moments: tuple[Story, dict[str, datetime]]) -> None:
    story, moments = story_and_moments
    by_bob = _history(story, HistoryFilter(operator="bob"))
    assert by_bob and {e["operator"] for e in by_bob} == {"bob"}
    assert {e["environment"] for e in by_bob} == {"staging"}  # gates, tags: via the promotion
    hexpart = digest_of("v1.1.0").removeprefix("sha256:")[:10]
    by_digest = _history(story, HistoryFilter(digest=hexpart, kinds=kinds_for(("tag",))))
    assert {e["digest"] for e in by_digest} == {digest_of("v1.1.0")}
    window = _history(story, HistoryFilter(since=moments["staging1"], until=moments["locked"]))
    assert {e["kind"] for e in window} >= {"PromotionCompleted", "EnvironmentLocked"}
    assert all(moments["staging1"].isoformat() <= e["at"] <= moments["locked"].isoformat()
               for e in window)


def test_history_limit_keeps_the_newest_first(
        story_and_moments: tuple[Story, dict[str, datetime]]) -> None:
    story, _ = story_and_moments
    found = _history(story, HistoryFilter(), limit=2)
    assert [e["kind"] for e in found] == ["RolledBack", "PromotionCompleted"]
    assert found[0]["position"] > found[1]["position"]


def test_unknown_kinds_are_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="promote"):
        kinds_for(("deploy",))
    assert kinds_for(("TAGWRITTEN", "gate")) == {"TagWritten", "GatePassed", "GateFailed"}


@pytest.mark.requirement("FR-026")
def test_the_tag_fold_keeps_immutable_tags_and_the_last_mutable_one(
        story_and_moments: tuple[Story, dict[str, datetime]]) -> None:
    story, _ = story_and_moments
    fold = TagFold()
    for event in story.events:
        fold.feed(event)
    tags = fold.tags(story.registry)
    assert tags["v1.0.0-staging"].digest == digest_of("v1.0.0")
    assert tags["latest-dev"].digest == digest_of("v1.1.0")
    assert tags["latest-staging"].digest == digest_of("v1.0.0")  # after the rollback
    assert tags["v1.0.0-staging-rollback-1"].digest == digest_of("v1.0.0")
    assert len(fold.completed) == 4 and fold.completed <= fold.requested


def test_compare_tags_reports_moved_deleted_and_untracked() -> None:
    expected = {"v1-dev": ExpectedTag("v1-dev", "sha256:a", False, 5, "TagWritten"),
                "latest-dev": ExpectedTag("latest-dev", "sha256:a", True, 6, "TagWritten"),
                "v1-staging": ExpectedTag("v1-staging", "sha256:a", False, 9, "TagWritten")}
    live: dict[str, str | None] = {"v1-dev": "sha256:a", "latest-dev": "sha256:b",
                                   "v1-staging": None, "latest-prod": "sha256:c",
                                   "v1-prod": "sha256:c"}
    drift = compare_tags(expected, live, ("dev", "staging", "prod"))
    assert [(d.tag, d.status) for d in drift] == [
        ("latest-dev", "moved"), ("v1-staging", "deleted"), ("latest-prod", "untracked")]


def _observed(kind: str, n: int, **fields: object) -> ev.RecordObserved:
    """Another ledger's record as bob's ledger folded it (bob is the event's operator)."""
    base: dict[str, object] = {
        "originator_id": UUID(int=7), "originator_version": n, "timestamp": T0, "operator": "bob",
        "record_digest": f"sha256:{n:064x}", "source_ledger": "0df884b2c6f3cd81",
        "record_kind": kind, "record_id": f"r{n}", "subject_digest": digest_of("v1.0.0"),
        "environment": "prod", "recorded_operator": "alice", "recorded_at": T0}
    return ev.RecordObserved(**{**base, **fields})


@pytest.mark.requirement("SC-003", "ENT-18")
def test_history_says_what_another_ledgers_record_says_and_who_acted() -> None:
    events = [_observed("promotion", 1, version="v1.0.0", source_environment="staging"),
              _observed("lock", 2, status="locked", reason="INC-42"),
              _observed("rollback", 3, version="v1.0.0", reason="bad deploy")]
    fold = HistoryFold(HistoryFilter())
    for position, event in enumerate(events, 1):
        fold.feed(position, event)
    found = [(e.summary, e.digest, e.operator) for e in reversed(fold.entries())]
    record_of = "(record of ledger 0df884b2c6f3cd81)"
    assert found == [
        (f"v1.0.0 promoted staging -> prod by alice {record_of}", digest_of("v1.0.0"), "bob"),
        (f"prod locked by alice {record_of}: INC-42", "", "bob"),  # a lock is no artifact's
        (f"prod rolled back to v1.0.0 by alice {record_of}: bad deploy", digest_of("v1.0.0"),
         "bob")]
    # Asking for the artifact finds what the other ledger did to it.
    by_digest = HistoryFold(HistoryFilter(digest=digest_of("v1.0.0")[7:19]))
    for position, event in enumerate(events, 1):
        by_digest.feed(position, event)
    assert [e.summary.split(" by ")[0] for e in by_digest.entries()] == [
        "prod rolled back to v1.0.0", "v1.0.0 promoted staging -> prod"]

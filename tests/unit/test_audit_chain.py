"""The chain verifier names the first broken event, and anchors catch what a chain cannot."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from floe_ledger.domain.model.events import event_hash
from floe_ledger.projections.audit import (
    Anchor,
    RawEvent,
    check_anchor,
    check_anchors,
    kind_of,
    raw_hash,
    verify_chain,
)
from support.audit_scenarios import StepClock, Story, rows_of, timeline

pytestmark = pytest.mark.requirement("FR-026")


@pytest.fixture
def story() -> Story:
    return timeline(StepClock())[0]


def _edit(row: RawEvent, **changes: object) -> RawEvent:
    state = json.loads(row.state)
    state.update(changes)
    return replace(row, state=json.dumps(state))


def _head_anchor(rows: list[RawEvent], index: int, source: str = "record") -> Anchor:
    row = rows[index]
    return Anchor(row.artifact_id, row.version, raw_hash(row, json.loads(row.state)), source)


def test_an_untouched_ledger_verifies_with_its_head(story: Story) -> None:
    rows = story.rows()
    report = verify_chain(rows)
    assert report.first_break is None
    assert report.events == len(rows)
    (head,) = report.streams.values()
    assert head.version == rows[-1].version
    assert head.hash == story.artifact.chain_head  # same hash the aggregate computed
    assert head.repository == "oci://registry.test/acme/platform"


def test_the_recomputed_hash_is_the_domain_event_hash(story: Story) -> None:
    event = story.events[4]
    row = story.rows()[4]
    assert raw_hash(row, json.loads(row.state)) == event.chain_hash()
    assert event_hash(event.TOPIC, event.stored_state()) == event.chain_hash()


def test_editing_a_middle_event_names_that_event_as_edited(story: Story) -> None:
    rows = story.rows()
    rows[5] = _edit(rows[5], tag="v9.9.9-dev")
    first = verify_chain(rows).first_break
    assert first is not None
    assert (first.version, first.kind, first.reason) == (6, "TagWritten", "edited")
    assert first.position == 6


def test_editing_only_a_prev_hash_blames_that_event(story: Story) -> None:
    rows = story.rows()
    rows[7] = _edit(rows[7], prev_hash="f" * 64)
    first = verify_chain(rows).first_break
    assert first is not None and (first.version, first.reason) == (8, "edited")


def test_editing_the_first_events_prev_hash_is_caught(story: Story) -> None:
    rows = story.rows()
    rows[0] = _edit(rows[0], prev_hash="1" * 64)
    first = verify_chain(rows).first_break
    assert first is not None and (first.version, first.reason) == (1, "edited")


def test_a_state_that_is_no_longer_json_is_edited(story: Story) -> None:
    rows = story.rows()
    rows[3] = replace(rows[3], state=b"{not json")
    first = verify_chain(rows).first_break
    assert first is not None and (first.version, first.reason) == (4, "edited")


def test_deleting_a_middle_event_is_a_removal(story: Story) -> None:
    rows = story.rows()
    del rows[6]
    first = verify_chain(rows).first_break
    assert first is not None
    assert (first.version, first.reason) == (8, "removed")
    assert "v7 missing" in first.message


def test_deleting_several_events_names_the_gap(story: Story) -> None:
    rows = story.rows()
    del rows[3:6]
    first = verify_chain(rows).first_break
    assert first is not None and first.reason == "removed" and "v4..v6" in first.message


def test_swapping_two_events_versions_is_a_reordering(story: Story) -> None:
    rows = story.rows()
    rows[4], rows[5] = replace(rows[4], version=6), replace(rows[5], version=5)
    first = verify_chain(rows).first_break
    assert first is not None and first.reason == "reordered"


def test_swapping_two_events_states_is_a_reordering(story: Story) -> None:
    rows = story.rows()
    rows[4], rows[5] = replace(rows[4], state=rows[5].state), replace(rows[5], state=rows[4].state)
    first = verify_chain(rows).first_break
    assert first is not None
    assert (first.version, first.reason) == (5, "reordered")


def test_moving_an_event_later_in_the_log_is_a_reordering(story: Story) -> None:
    rows = story.rows()
    moved = rows.pop(3)
    rows.append(replace(moved, position=999))
    first = verify_chain(rows).first_break
    assert first is not None and first.reason == "reordered"


def test_deleting_the_newest_events_passes_the_chain_but_not_its_anchor(story: Story) -> None:
    rows = story.rows()
    anchor = _head_anchor(rows, len(rows) - 1, "registry anchor floe-prod-index")
    report = verify_chain(rows[:-3])
    assert report.first_break is None  # an unkeyed chain cannot see it
    broken = check_anchor(report, anchor)
    assert broken is not None and broken.reason == "truncated"
    assert broken.version == rows[-3].version
    assert "floe-prod-index" in broken.message


def test_editing_the_newest_event_is_caught_by_an_anchor_on_it(story: Story) -> None:
    rows = story.rows()
    anchor = _head_anchor(rows, len(rows) - 1)
    rows[-1] = _edit(rows[-1], reason="nothing to see")
    report = verify_chain(rows)
    assert report.first_break is None
    broken = check_anchor(report, anchor)
    assert broken is not None and (broken.reason, broken.version) == ("edited", rows[-1].version)


def test_a_rewritten_chain_is_caught_by_an_older_anchor() -> None:
    clock = StepClock()
    story, _ = timeline(clock)
    anchor = _head_anchor(story.rows(), 10)
    forged = list(story.events)
    forged[5] = forged[5].model_copy(update={"tag": "forged"})
    rewritten = []  # recompute every later prev_hash, as an attacker with write access would
    prev = forged[0].prev_hash
    for event in forged:
        event = event.model_copy(update={"prev_hash": prev})
        prev = event.chain_hash()
        rewritten.append(event)
    report = verify_chain(rows_of(rewritten))
    assert report.first_break is None
    broken = check_anchor(report, anchor)
    assert broken is not None and broken.reason == "edited"


def test_an_anchor_for_a_stream_the_ledger_lost_entirely() -> None:
    report = verify_chain([])
    broken = check_anchor(report, Anchor("0b5b2e6c-0000-5000-8000-000000000000", 7, "a" * 64,
                                         "checkpoint"))
    assert broken is not None and broken.reason == "truncated"


def test_anchors_report_one_break_per_stream_and_reason(story: Story) -> None:
    rows = story.rows()
    anchors = [_head_anchor(rows, i) for i in (len(rows) - 1, len(rows) - 2)]
    breaks = check_anchors(verify_chain(rows[:-5]), anchors)
    assert [b.reason for b in breaks] == ["truncated"]
    assert f"v{rows[-1].version}" in breaks[0].message


def test_the_first_break_is_the_earliest_across_interleaved_streams() -> None:
    clock = StepClock()
    one, _ = timeline(clock, repository="oci://registry.test/acme/one")
    two, _ = timeline(clock, repository="oci://registry.test/acme/two")
    mixed = [r for pair in zip(one.rows(), two.rows(), strict=False) for r in pair]
    rows = [replace(r, position=i + 1) for i, r in enumerate(mixed)]
    rows[21] = _edit(rows[21], tag="edited-in-two")  # stream two, v11
    rows[30] = _edit(rows[30], reason="edited in one")  # stream one, v16 (later)
    report = verify_chain(rows)
    assert len(report.breaks) == 2
    first = report.first_break
    assert first is not None and first.repository == "oci://registry.test/acme/two"
    assert first.position is not None and first.position < (report.breaks[1].position or 0)


def test_kinds_are_short_names() -> None:
    assert kind_of("floe.ledger/TagWritten.v1") == "TagWritten"
    assert kind_of("other/Thing") == "other/Thing"

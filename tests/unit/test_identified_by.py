"""FR-045: every event records how its operator was identified, and old ledgers still verify.

``identified_by`` is hashed only when it is known, so an event written before the field
existed hashes exactly as it did, while a new event's ``identified_by`` is part of the
chain like any other field.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder

from floe_ledger.adapters.store.mapper import PydanticMapper, encode_state
from floe_ledger.adapters.store.readers import history_entry, stored_details
from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.identity import Actor, Operator
from floe_ledger.projections.audit import RawEvent, verify_chain
from floe_ledger.projections.audit_replay import HistoryFilter, HistoryFold
from floe_ledger.projections.environment import AppendHistory, project
from floe_ledger.projections.rows import HistoryEntry
from support.audit_scenarios import rows_of

REPO = "oci://registry.test/acme/platform"
AID = UUID("0b7f6c2e-9a51-5d4f-8c1e-2f3a4b5c6d7e")
OLD_FIELDS = dict(
    originator_id=AID, originator_version=7, timestamp=datetime(2026, 11, 20, 14, 30, tzinfo=UTC),
    prev_hash="ab" * 32, operator="alice", trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
    environment="prod", reason="INC-7 hotfix", lock_reason="freeze", locked_by="sre")
#: ``LockBroken(**OLD_FIELDS).chain_hash()`` computed by main's events.py before
#: ``identified_by`` existed.
OLD_HASH = "c483a77839dddea90922dbf31430dfd6ce3106faf8d7e581ec7c8f0f75d13051"

MAPPER = PydanticMapper(transcoder=JSONTranscoder())


def actor(source: str | None) -> Actor:
    if source is None:
        return Actor("alice", "trace-1")
    return Actor("alice", "trace-1", Operator("alice", source, authenticated=source != "local"))


def stream(source: str | None) -> list[ev.ArtifactEvent]:
    """A registered stream locked and unlocked by ``actor(source)``."""
    who = actor(source)
    art = Artifact.register(REPO, actor=who)
    art.lock("prod", "freeze", who)
    art.unlock("prod", "thaw", who)
    return list(art.collect_events())


def edit(row: RawEvent, **changes: object) -> RawEvent:
    state = json.loads(row.state)
    state.update(changes)
    return replace(row, state=json.dumps({k: v for k, v in state.items() if v is not None}))


@pytest.mark.requirement("FR-045", "FR-026")
def test_an_event_without_identified_by_hashes_exactly_as_before() -> None:
    event = ev.LockBroken(**OLD_FIELDS)
    assert event.identified_by is None
    assert "identified_by" not in event.stored_state()
    assert event.chain_hash() == OLD_HASH


@pytest.mark.requirement("FR-045", "FR-026")
def test_the_store_round_trips_both_shapes_and_keeps_the_hash() -> None:
    old = ev.LockBroken(**OLD_FIELDS)
    new = ev.LockBroken(**OLD_FIELDS, identified_by="oidc")
    assert "identified_by" not in json.loads(encode_state(old))
    assert json.loads(encode_state(new))["identified_by"] == "oidc"
    assert new.chain_hash() != OLD_HASH
    for event in (old, new):
        back = MAPPER.to_domain_event(MAPPER.to_stored_event(event))
        assert back == event and back.chain_hash() == event.chain_hash()


@pytest.mark.requirement("FR-045")
@pytest.mark.parametrize("source", ["oidc", "registry", "local", None])
def test_every_event_records_how_its_operator_was_identified(source: str | None) -> None:
    events = stream(source)
    assert [e.kind for e in events] == ["ArtifactRegistered", "EnvironmentLocked",
                                        "EnvironmentUnlocked"]
    assert {e.identified_by for e in events} == {source}
    assert verify_chain(rows_of(events)).first_break is None


@pytest.mark.requirement("FR-045", "FR-026")
@pytest.mark.parametrize("change", [{"identified_by": "oidc"}, {"identified_by": None}])
def test_a_tampered_identified_by_breaks_the_chain(change: dict[str, object]) -> None:
    rows = rows_of(stream("local"))
    rows[1] = edit(rows[1], **change)  # claimed a verified token, or dropped the field
    first = verify_chain(rows).first_break
    assert first is not None
    assert (first.version, first.kind, first.reason) == (2, "EnvironmentLocked", "edited")
    events = [MAPPER.to_domain_event(MAPPER.to_stored_event(e)) for e in stream("local")]
    tampered = events[1].model_copy(update=change)
    with pytest.raises(ev.TamperError):  # the aggregate does not load either
        aggregate = None
        for e in [events[0], tampered, events[2]]:
            aggregate = e.mutate(aggregate)


@pytest.mark.requirement("FR-045", "FR-048")
def test_history_rows_carry_how_the_operator_was_identified() -> None:
    locked = stream("registry")[1]
    (op,) = [o for o in project(locked) if isinstance(o, AppendHistory)]
    assert op.entry.identified_by == "registry"
    (old,) = [o for o in project(stream(None)[1]) if isinstance(o, AppendHistory)]
    assert old.entry.identified_by is None
    fold = HistoryFold(HistoryFilter())
    for position, event in enumerate(stream("oidc"), 1):
        fold.feed(position, event)
    assert {e.as_dict()["identified_by"] for e in fold.entries()} == {"oidc"}


@pytest.mark.requirement("FR-045")
@pytest.mark.parametrize("identified_by", ["local", None])
def test_the_history_view_keeps_identified_by_out_of_details(identified_by: str | None) -> None:
    entry = HistoryEntry("prod", "LOCKED", "", "", "alice", "2026-11-20T14:30:00+00:00",
                         reason="freeze", details={"lock_reason": "x"},
                         identified_by=identified_by)
    row = ("prod", "LOCKED", "", "", "alice", entry.at, "freeze", "", stored_details(entry))
    assert history_entry(row) == entry
    assert history_entry((*row[:8], '{"lock_reason": "x"}')) == replace(entry,
                                                                          identified_by=None)

"""The audit over a real store (SQLite and PostgreSQL): raw rows in pages, replay, export."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from floe_ledger.adapters.audit.events import decoded, raw_events, with_events
from floe_ledger.adapters.audit.export import export_jsonl, export_sqlite, read_jsonl
from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.domain.model.errors import UsageError
from floe_ledger.projections.audit import verify_chain
from floe_ledger.projections.audit_replay import AsOfReplay
from support.audit_scenarios import REPO, StepClock, Story, timeline
from support.ledger_db import KINDS, fresh_ledger_url


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStoreLedger]:
    with fresh_ledger_url(request.param, tmp_path) as url:
        location = ledger_location(url, tmp_path)
        init_store(location, {})
        opened = open_store(location, {})
        yield opened
        opened.close()


@pytest.fixture
def story(store: EventStoreLedger) -> tuple[Story, dict[str, datetime]]:
    return timeline(StepClock(), store=store)


@pytest.mark.requirement("FR-026")
def test_raw_rows_come_in_ledger_order_across_pages_and_verify(
        store: EventStoreLedger, story: tuple[Story, dict[str, datetime]]) -> None:
    rows = list(raw_events(store, page=4))
    assert len(rows) == len(story[0].events)
    positions = [r.position for r in rows]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    report = verify_chain(rows)
    assert report.first_break is None
    loaded = store.load(REPO)
    assert loaded is not None
    head = report.streams[str(loaded.id)]
    assert (head.version, head.hash) == (loaded.version, loaded.chain_head)


@pytest.mark.requirement("FR-026")
def test_two_interleaved_streams_verify_separately(store: EventStoreLedger) -> None:
    one = Story.start("oci://registry.test/acme/one", store=store)
    two = Story.start("oci://registry.test/acme/two", store=store)
    for version in ("v1.0.0", "v1.1.0"):
        one.promote(version, None, "dev")
        two.promote(version, None, "dev")
    report = verify_chain(raw_events(store, page=3))
    assert report.first_break is None
    assert {s.repository: s.version for s in report.streams.values()} == {
        one.artifact.repository: one.artifact.version, two.artifact.repository:
        two.artifact.version}


@pytest.mark.requirement("SC-003")
def test_replay_as_of_reads_the_stored_events(
        store: EventStoreLedger, story: tuple[Story, dict[str, datetime]]) -> None:
    _, moments = story
    expected = {"staging1": ("v1.0.0", "promotion"), "staging2": ("v1.1.0", "promotion"),
                "rolled_back": ("v1.0.0", "rollback")}
    for moment, (version, via) in expected.items():
        fold = AsOfReplay(moments[moment])
        for _, event in decoded(raw_events(store)):
            fold.feed(event)
        (art,) = fold.result()
        staging = art.environments["staging"]
        assert (staging.version, staging.via) == (version, via), moment


@pytest.mark.requirement("SC-003", "FR-026")
def test_a_jsonl_export_has_every_event_with_its_hash_and_verifies_again(
        store: EventStoreLedger, story: tuple[Story, dict[str, datetime]],
        tmp_path: Path) -> None:
    path = tmp_path / "out" / "ledger.jsonl"
    summary = export_jsonl(raw_events(store), path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert summary.events == len(lines) == len(story[0].events)
    for line, event in zip(lines, story[0].events, strict=True):
        assert line["hash"] == event.chain_hash()
        assert line["prev_hash"] == event.prev_hash
        assert line["kind"] == event.kind
    again = verify_chain(read_jsonl(path))
    assert again.first_break is None
    assert again.heads() == verify_chain(raw_events(store)).heads()
    with pytest.raises(UsageError, match="already exists"):
        export_jsonl(raw_events(store), path)
    # the SQLite export given where JSON Lines are read: a usage error naming the line, not
    # a UnicodeDecodeError (exit 1)
    binary = tmp_path / "ledger.db"
    export_sqlite(raw_events(store), binary)
    with pytest.raises(UsageError, match=r"ledger\.db:\d+ is not an exported event"):
        list(read_jsonl(binary))


@pytest.mark.requirement("SC-003")
def test_a_sqlite_export_has_a_table_per_kind_and_the_chain(
        store: EventStoreLedger, story: tuple[Story, dict[str, datetime]],
        tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    summary = export_sqlite(raw_events(store), path)
    events = story[0].events
    kinds = {e.kind for e in events}
    assert kinds | {"chain", "streams", "export_info"} <= set(summary.tables)
    with sqlite3.connect(path) as db:
        chain = db.execute("SELECT position, artifact_id, version, topic, prev_hash, hash "
                           "FROM chain ORDER BY position").fetchall()
        assert [row[5] for row in chain] == [e.chain_hash() for e in events]
        assert [row[4] for row in chain] == [e.prev_hash for e in events]
        completed = db.execute("SELECT version, target_environment, operator, hash FROM "
                               "PromotionCompleted ORDER BY position").fetchall()
        assert [(v, t, o) for v, t, o, _ in completed] == [
            ("v1.0.0", "dev", "alice"), ("v1.0.0", "staging", "alice"),
            ("v1.1.0", "dev", "alice"), ("v1.1.0", "staging", "bob")]
        heads = db.execute("SELECT artifact_id, version, hash FROM streams").fetchall()
    art = story[0].artifact
    assert summary.streams == 1
    assert heads == [(str(art.id), art.version, art.chain_head)]


@pytest.mark.requirement("FR-026")
def test_a_row_that_no_longer_decodes_is_still_read_and_named(tmp_path: Path) -> None:
    location = ledger_location(None, tmp_path)
    store = EventStoreLedger(location)
    try:
        story, _ = timeline(StepClock(), store=store)
        assert location.path is not None
        with sqlite3.connect(location.path) as db:
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = 6", (b'{"tag": 1',))
        pairs = list(with_events(raw_events(store)))
        assert len(pairs) == len(story.events)
        assert [raw.position for raw, event in pairs if event is None] == [6]
        first = verify_chain(raw for raw, _ in pairs).first_break
        assert first is not None and (first.position, first.reason) == (6, "edited")
    finally:
        store.close()

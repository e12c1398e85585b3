"""The audit's in-memory fold of the views is what the views' SQL leaves in the database.

``floe audit verify`` folds the events again in memory (projections/views_fold.py) and
compares with the ledger's views (adapters/audit/views_check.py): the two must agree on an
untouched ledger of every kind of event, on SQLite and PostgreSQL, and disagree where a
view row was edited.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from floe_ledger.adapters.audit import views_job
from floe_ledger.adapters.audit.views_check import HISTORY_COMPARED, check_views, read_views
from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.projections.views_fold import ViewFold
from support.audit_scenarios import StepClock, timeline
from support.ledger_db import KINDS, fresh_ledger_url

pytestmark = pytest.mark.requirement("FR-026")

FIXTURE = Path(__file__).resolve().parent.parent / "data" / "ledgers" / "ledger-v1.sqlite"


def folded(store: EventStoreLedger) -> ViewFold:
    fold = ViewFold()
    for _, event in store.view_notifications(1, 1_000_000):
        fold.feed(event)
    fold.finish()
    return fold


def assert_alike(store: EventStoreLedger) -> list[str]:
    stored, fresh = read_views(store.views), folded(store)
    aids = sorted({aid for aid, _ in stored.rows.keys() | stored.history_lines.keys()})
    assert aids
    for aid in aids:
        envs = stored.environments(aid)
        assert envs == fresh.environments(aid)
        for env in envs:
            assert stored.status(aid, env) == fresh.status(aid, env)
            assert stored.history(aid, env, HISTORY_COMPARED) == fresh.history(
                aid, env, HISTORY_COMPARED)
    return aids


def test_the_fold_of_every_kind_of_event_is_what_the_sql_wrote(tmp_path: Path) -> None:
    copy = tmp_path / "ledger.sqlite"
    shutil.copyfile(FIXTURE, copy)
    store = EventStoreLedger(ledger_location(f"sqlite:///{copy}", tmp_path))
    try:
        assert_alike(store)  # views written by the code before the in-memory fold existed
        store.rebuild_views()
        assert_alike(store)
    finally:
        store.close()


@pytest.mark.parametrize("kind", KINDS)
def test_an_edited_view_row_is_named_on_both_backends(kind: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with fresh_ledger_url(kind, tmp_path) as url:
        init_store(ledger_location(url, tmp_path), {})
        store = open_store(ledger_location(url, tmp_path), {})
        try:
            story = timeline(StepClock(), store=store)[0]
            aids = assert_alike(store)
            assert check_views(store, aids) == []
            store.views.conn.execute(store.views._sql(
                "UPDATE floe_history SET operator = 'mallory' WHERE kind = 'PROMOTED' AND "
                "environment = 'dev'"))
            store.views.conn.execute(store.views._sql(
                "UPDATE floe_env_state SET version = 'v9.9.9' WHERE environment = 'staging'"))
            store.views.conn.commit()
            breaks = check_views(store, [str(story.artifact.id)])
            assert [b.message.split(" in the")[0] for b in breaks] == [
                "the status and history of dev", "the status and history of staging"]
            # the same check in a second process (what verify does for a big ledger)
            monkeypatch.setattr(views_job, "PARALLEL_FROM", 0)
            job = views_job.ViewsJob.start(store)
            assert job is not None
            assert job.breaks([str(story.artifact.id)]) == breaks
            assert job.answered
        finally:
            store.close()

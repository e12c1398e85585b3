"""Snapshots make long streams cheap to load and change nothing about what loads."""

from __future__ import annotations

import sqlite3

import pytest

from floe_ledger.adapters.store.eventstore import SNAPSHOT_INTERVAL, EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.snapshot import snapshot


@pytest.mark.requirement("NFR-004")
def test_state_loaded_through_a_snapshot_equals_a_full_replay(tmp_path) -> None:
    store = EventStoreLedger(ledger_location(None, tmp_path))
    art = Artifact.register("registry.test/app", actor=Actor("sre"))
    store.save(art)
    for i in range(SNAPSHOT_INTERVAL * 2 + 7):
        art = store.load("registry.test/app")
        assert art is not None
        if "prod" in art.locks:
            art.unlock("prod", f"fixed {i}", Actor("sre"))
        else:
            art.lock("prod", f"incident {i}", Actor("sre"))
        store.save(art)
    with sqlite3.connect(store.location.path) as conn:
        versions = [r[0] for r in conn.execute("SELECT originator_version FROM stored_snapshots")]
    assert versions == [SNAPSHOT_INTERVAL, SNAPSHOT_INTERVAL * 2]
    loaded = store.load("registry.test/app")
    replayed = None
    for _, event in store.notifications(1, 10_000):
        replayed = event.mutate(replayed)
    assert loaded is not None and replayed is not None
    assert loaded.version == replayed.version == SNAPSHOT_INTERVAL * 2 + 8
    assert snapshot(loaded) == snapshot(replayed)
    # Appending after a snapshot-based load still links into the hash chain.
    loaded.lock("staging", "after snapshot", Actor("sre"))
    store.save(loaded)
    again = None
    for _, event in store.notifications(1, 10_000):
        again = event.mutate(again)
    assert again is not None and "staging" in again.locks
    store.close()

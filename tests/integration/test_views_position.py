"""Views skip events no view needs, yet their position still reaches the log's head, so
`status` keeps its fast path."""

from __future__ import annotations

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.store.readers import SqliteViewReader
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.identity import Actor

DIGEST = "sha256:" + "c" * 64


def test_the_position_moves_past_events_that_change_no_view(tmp_path) -> None:
    store = EventStoreLedger(ledger_location(None, tmp_path))
    art = Artifact.register("registry.test/app", actor=Actor("ci"))
    art.observe_version("v1.0.0", DIGEST, None, "v1.0.0", Actor("ci"))  # no view folds it
    store.save(art)
    assert store.max_position() == 2
    assert store.views.position() == 2
    views = SqliteViewReader(store.location.path)
    assert views.current()
    assert views.statuses(str(art.id), ["dev"])[0].version is None
    views.close()
    store.close()

"""One store contract, run unchanged against SQLite and a real PostgreSQL.

Every test in the first part runs twice (``location`` is parametrised). The PostgreSQL
case needs FLOE_TEST_POSTGRES_URL (``scripts/with-postgres.sh``); without it, it fails.
What only the PostgreSQL adapter does (settings from the URL, ``floe ledger init`` once,
a clear error for runners that start before it) is in test_postgres_adapter.py.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import LedgerLocation, ledger_location
from floe_ledger.adapters.store.views import TABLES
from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import ConcurrencyError, TagExistsError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import EnvironmentPath
from floe_ledger.projections.environment import PROJECTED_TOPICS, AppendHistory, project
from support.ledger_db import KINDS, fresh_ledger_url

ENV: dict[str, str] = {}
PATH = EnvironmentPath(("dev", "staging", "prod"))
ALICE = Actor("alice", "trace-a")
BOB = Actor("bob", "trace-b")
REPO = "registry.example.com/acme/platform"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


@pytest.fixture(params=KINDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerLocation]:
    """An empty ledger of each kind, initialised the way ``floe ledger init`` does."""
    with fresh_ledger_url(request.param, tmp_path) as url:
        loc = ledger_location(url, tmp_path)
        init_store(loc, ENV)
        yield loc


@pytest.fixture
def open_ledger(location: LedgerLocation) -> Iterator[Callable[[], EventStoreLedger]]:
    """Opens one more store on the same ledger (another runner); all closed afterwards."""
    opened: list[EventStoreLedger] = []

    def opener() -> EventStoreLedger:
        opened.append(open_store(location, ENV))
        return opened[-1]

    yield opener
    for store in opened:
        store.close()


@pytest.fixture
def store(open_ledger: Callable[[], EventStoreLedger]) -> EventStoreLedger:
    return open_ledger()


def promote(art: Artifact, version: str, source: str | None, target: str, *,
            digest: str = D1, actor: Actor = ALICE) -> str:
    """The events of one whole promotion, as PromotionService emits them."""
    pid = str(uuid.uuid4())
    tag = version if source is None else f"{version}-{source}"
    art.observe_version(version, digest, source, tag, actor)
    art.request_promotion(promotion_id=pid, version=version, digest=digest, source=source,
                          target=target, path=PATH, force=False, actor=actor)
    art.record_tag(pid, "reg", f"{version}-{target}", digest, mutable=False,
                   already_present=False, actor=actor)
    art.record_tag(pid, "reg", f"latest-{target}", digest, mutable=True, already_present=False,
                   actor=actor)
    art.complete_promotion(pid, registries=[{"uri": "reg", "status": "ok", "error": None}],
                           actor=actor)
    return pid


def all_notifications(store: EventStoreLedger) -> list[tuple[int, ev.ArtifactEvent]]:
    return store.notifications(1, 1_000_000)


def view_rows(store: EventStoreLedger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, in a stable order."""
    return {table: sorted((tuple(r) for r in store.views.conn.execute(
        f"SELECT * FROM {table}").fetchall()), key=repr) for table in TABLES}


# ---- the contract ------------------------------------------------------------------------

def test_a_saved_artifact_loads_back_with_the_same_state(
    open_ledger: Callable[[], EventStoreLedger],
) -> None:
    writer = open_ledger()
    art = Artifact.register(REPO, actor=ALICE)
    pid = promote(art, "v1.0.0", None, "dev")

    assert writer.save(art) == 6
    loaded = open_ledger().load(REPO)

    assert loaded is not None
    assert loaded.version == art.version == 6
    assert loaded.chain_head == art.chain_head
    assert loaded.live["dev"].version == "v1.0.0"
    completed = loaded.completed("v1.0.0", "dev")
    assert completed is not None and completed.promotion_id == pid
    assert open_ledger().load("registry.example.com/acme/unknown") is None


@pytest.mark.requirement("TXN-08")
def test_the_second_of_two_writers_gets_a_concurrency_error_and_writes_nothing(
    open_ledger: Callable[[], EventStoreLedger],
) -> None:
    runner_a, runner_b = open_ledger(), open_ledger()
    runner_a.save(Artifact.register(REPO, actor=ALICE))
    copy_a, copy_b = runner_a.load(REPO), runner_b.load(REPO)
    assert copy_a is not None and copy_b is not None
    promote(copy_a, "v1.0.0", None, "dev")
    promote(copy_b, "v2.0.0", None, "dev", digest=D2, actor=BOB)

    runner_a.save(copy_a)
    with pytest.raises(ConcurrencyError) as caught:
        runner_b.save(copy_b)

    assert caught.value.exit_code == 7
    events = [e for _, e in all_notifications(open_ledger())]
    assert [e.originator_version for e in events] == list(range(1, 7))
    assert not [e for e in events if getattr(e, "version", None) == "v2.0.0"]
    reloaded = open_ledger().load(REPO)
    assert reloaded is not None and reloaded.version == 6
    assert "v2.0.0" not in reloaded.versions


def test_the_hash_chain_is_intact_after_a_reload(
    open_ledger: Callable[[], EventStoreLedger],
) -> None:
    writer = open_ledger()
    art = Artifact.register(REPO, actor=ALICE)
    writer.save(art)
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        art = writer.load(REPO) or art
        promote(art, version, None, "dev")
        writer.save(art)

    reader = open_ledger()
    events = [e for _, e in all_notifications(reader) if e.originator_id == art.id]
    loaded = reader.load(REPO)

    assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
    previous = ev.GENESIS
    for event in events:
        assert event.prev_hash == previous, f"v{event.originator_version} breaks the chain"
        previous = event.chain_hash()
    assert loaded is not None and loaded.chain_head == previous


def test_two_views_catching_up_at_once_apply_every_event_exactly_once(
    open_ledger: Callable[[], EventStoreLedger],
) -> None:
    writer = open_ledger()
    for n in range(4):  # events written without folding them: the views lag behind
        art = Artifact.register(f"{REPO}-{n}", actor=ALICE)
        for minor in range(6):
            promote(art, f"v1.{minor}.0", None, "dev")
        writer.app.save(art)
    head = writer.max_position()
    expected_history = sum(isinstance(op, AppendHistory)
                           for _, e in all_notifications(writer) for op in project(e))
    runners = [open_ledger(), open_ledger()]
    applied: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(runners))

    def catch_up(runner: EventStoreLedger) -> None:
        try:
            barrier.wait()
            applied.append(runner.views.catch_up(runner.notifications, page=7))
        except BaseException as err:  # reported below, with the other thread's result
            errors.append(err)

    threads = [threading.Thread(target=catch_up, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(applied) == len(all_notifications(writer)) == 4 * 31
    assert runners[0].views.position() == head
    count = writer.views.conn.execute("SELECT COUNT(*) FROM floe_history").fetchone()[0]
    assert count == expected_history


def test_rebuilding_the_views_from_zero_gives_identical_rows(store: EventStoreLedger) -> None:
    art = Artifact.register(REPO, actor=ALICE)
    promote(art, "v1.0.0", None, "dev")
    promote(art, "v1.0.0", "dev", "staging")
    promote(art, "v1.1.0", None, "dev", digest=D2)
    art.reject(TagExistsError("v1.0.0-staging already exists"), promotion_id="p-x",
               version="v1.0.0", source="dev", target="staging", actor=BOB)
    store.save(art)
    before = view_rows(store)

    count = store.rebuild_views()

    # Only the events a view folds are decoded; the rest are skipped in the query.
    assert count == sum(type(e).TOPIC in PROJECTED_TOPICS for _, e in all_notifications(store))
    assert 0 < count < len(all_notifications(store))
    assert view_rows(store) == before
    assert before["floe_history"], "the fold wrote history rows"


def test_gaps_in_notification_ids_do_not_stop_the_views(
    location: LedgerLocation, open_ledger: Callable[[], EventStoreLedger],
) -> None:
    runner_a, runner_b = open_ledger(), open_ledger()
    runner_a.save(Artifact.register(REPO, actor=ALICE))
    copy_a, copy_b = runner_a.load(REPO), runner_b.load(REPO)
    assert copy_a is not None and copy_b is not None
    promote(copy_a, "v1.0.0", None, "dev")
    promote(copy_b, "v2.0.0", None, "dev", digest=D2)
    runner_a.save(copy_a)
    with pytest.raises(ConcurrencyError):
        runner_b.save(copy_b)  # on PostgreSQL the rolled-back insert used up sequence ids
    again = runner_b.load(REPO)
    assert again is not None
    promote(again, "v1.0.0", "dev", "staging", actor=BOB)

    runner_b.save(again)

    ids = [pos for pos, _ in all_notifications(runner_b)]
    if location.kind == "postgresql":
        assert ids != list(range(ids[0], ids[-1] + 1)), f"expected a gap in {ids}"
    for runner in (runner_a, runner_b):
        runner.refresh_views()
        assert runner.views.position() == ids[-1]
        rows = {s.environment: s for s in runner.views.statuses(again.id, PATH.names)}
        assert rows["staging"].version == "v1.0.0" and rows["staging"].promoted_by == "bob"


def test_status_and_history_read_from_the_views(
    open_ledger: Callable[[], EventStoreLedger],
) -> None:
    writer = open_ledger()
    art = Artifact.register(REPO, actor=ALICE)
    promote(art, "v1.0.0", None, "dev")
    promote(art, "v1.0.0", "dev", "staging", actor=BOB)
    promote(art, "v1.1.0", None, "dev", digest=D2)
    art.reject(TagExistsError("v1.0.0-staging already exists"), promotion_id="p-late",
               version="v1.0.0", source="dev", target="staging", actor=BOB)
    writer.save(art)
    reader = open_ledger()
    reader.refresh_views()

    statuses = {s.environment: s for s in reader.views.statuses(art.id, PATH.names)}
    dev = reader.views.history(art.id, "dev", 10)
    newest = reader.views.history(art.id, None, 2)

    assert (statuses["dev"].version, statuses["dev"].digest) == ("v1.1.0", D2)
    assert (statuses["staging"].version, statuses["staging"].promoted_by) == ("v1.0.0", "bob")
    assert statuses["staging"].via == "promotion" and not statuses["staging"].locked
    assert statuses["prod"].version is None
    assert [(h.kind, h.version) for h in dev] == [("PROMOTED", "v1.1.0"), ("PROMOTED", "v1.0.0")]
    assert [(h.kind, h.environment) for h in newest] == [("REJECTED", "staging"),
                                                         ("PROMOTED", "dev")]
    assert newest[0].reason == "v1.0.0-staging already exists"

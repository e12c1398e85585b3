"""The outbox's bookkeeping on an in-memory SQLite database (FR-040, WH-05, WH-06)."""

from __future__ import annotations

import sqlite3

import pytest

from floe_ledger.adapters.webhooks.outbox import MAX_ROUNDS, Outbox, Outcome, endpoints
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.config import WebhookConfig
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.domain.model.identity import Actor

REPO = "oci://registry.example.com/acme/app"
STREAM = str(Artifact.create_id(REPO))


class Log:
    """A notification log: (position, event) pairs, as the ledger hands them out."""

    def __init__(self) -> None:
        self.items: list[tuple[int, ArtifactEvent]] = []

    def add(self, events: list[ArtifactEvent]) -> None:
        for event in events:
            self.items.append((len(self.items) + 1, event))

    def notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]:
        return [(p, e) for p, e in self.items if p >= start][:limit]

    def max_position(self) -> int:
        return len(self.items)


class Clock:
    def __init__(self) -> None:
        self.now = 2_000_000_000.0

    def __call__(self) -> float:
        return self.now


World = tuple[Outbox, Log, Artifact, Clock]


@pytest.fixture
def world() -> World:
    clock = Clock()
    box = Outbox(sqlite3.connect(":memory:", isolation_level=None), clock=clock)
    box.create_schema()
    actor = Actor("alice")
    art = Artifact.register(REPO, actor=actor)
    art.lock("prod", "one", actor)
    art.unlock("prod", "two", actor)
    log = Log()
    log.add(art.collect_events())
    return box, log, art, clock


HOOKS = [WebhookConfig(url="https://a.example/h", events=["lock"]),
         WebhookConfig(url="https://b.example/h", events=["lock", "unlock"])]


@pytest.mark.requirement("WH-05")
def test_each_endpoint_gets_the_event_types_it_asked_for(world: World) -> None:
    box, log, _, clock = world
    clock.now = log.items[-1][1].timestamp.timestamp()
    assert box.enqueue_new(log, endpoints(HOOKS), stream=STREAM, repository=REPO) == 3
    a, b = (ep.key for ep in endpoints(HOOKS))
    got = [(d.endpoint_key, d.event_type) for d in box.deliveries(STREAM)]
    assert sorted(got) == sorted([(a, "lock"), (b, "lock"), (b, "unlock")])
    assert box.tracked_position(STREAM) == 3


def test_claims_are_leased_and_a_failure_schedules_the_next_round(world: World) -> None:
    box, log, _, clock = world
    clock.now = log.items[-1][1].timestamp.timestamp()
    eps = endpoints(HOOKS[1:])
    box.enqueue_new(log, eps, stream=STREAM, repository=REPO)
    first = box.claim(STREAM, [eps[0].key], due_only=True, lease_seconds=30)
    assert [d.event_type for d in first] == ["lock", "unlock"]
    # a second process finds everything leased
    assert box.claim(STREAM, [eps[0].key], due_only=True, lease_seconds=30) == []
    box.record([Outcome(first[0].delivery_id, False, 2, 503, "HTTP 503"),
                Outcome(first[1].delivery_id, None)])
    lock, unlock = box.deliveries(STREAM)
    assert (lock.attempts, lock.rounds, lock.last_error) == (2, 1, "HTTP 503")
    assert lock.next_attempt_at == clock.now + 60
    assert (unlock.attempts, unlock.rounds) == (0, 0)
    # unlock is still due (never tried), so the queue is retried from its head
    assert [d.event_type for d in box.claim(STREAM, [eps[0].key], due_only=True,
                                            lease_seconds=30)] == ["lock", "unlock"]


def test_a_queue_with_nothing_due_waits_for_its_next_round(world: World) -> None:
    box, log, _, clock = world
    clock.now = log.items[-1][1].timestamp.timestamp()
    eps = endpoints(HOOKS[:1])
    box.enqueue_new(log, eps, stream=STREAM, repository=REPO)
    (d,) = box.claim(STREAM, [eps[0].key], due_only=True, lease_seconds=30)
    box.record([Outcome(d.delivery_id, False, 1, None, "ConnectError")])
    assert box.claim(STREAM, [eps[0].key], due_only=True, lease_seconds=30) == []
    # floe webhooks deliver does not wait
    assert len(box.claim(STREAM, [eps[0].key], due_only=False, lease_seconds=30)) == 1


def test_failed_after_max_rounds_and_delivered_rows_are_pruned(world: World) -> None:
    box, log, _, clock = world
    clock.now = log.items[-1][1].timestamp.timestamp()
    eps = endpoints(HOOKS[:1])
    box.enqueue_new(log, eps, stream=STREAM, repository=REPO)
    for _ in range(MAX_ROUNDS):
        (d,) = box.claim(STREAM, [eps[0].key], due_only=False, lease_seconds=30)
        box.record([Outcome(d.delivery_id, False, 1, 500, "HTTP 500")])
    assert box.deliveries(STREAM)[0].state == "failed"
    assert box.claim(STREAM, [eps[0].key], due_only=True, lease_seconds=30) == []
    (d,) = box.claim(STREAM, [eps[0].key], due_only=False, lease_seconds=30)
    box.record([Outcome(d.delivery_id, True, 1, 200)])
    assert box.deliveries(STREAM) == []
    clock.now += 31 * 86400
    assert box.prune_delivered() == 1
    assert box.deliveries(STREAM, include_delivered=True) == []


def test_unknown_endpoints_are_never_claimed(world: World) -> None:
    box, log, _, clock = world
    clock.now = log.items[-1][1].timestamp.timestamp()
    box.enqueue_new(log, endpoints(HOOKS), stream=STREAM, repository=REPO)
    assert box.claim(STREAM, ["not-configured"], due_only=False, lease_seconds=30) == []


class Probe:
    """Processes by name: ``alive`` says which still run (None: another host, unknown)."""

    def __init__(self, me: str, running: dict[str, bool | None]) -> None:
        self.me, self.running = me, running

    def owner(self) -> str:
        return self.me

    def alive(self, owner: str) -> bool | None:
        return self.running.get(owner)


@pytest.mark.requirement("NFR-004", "FR-043")
@pytest.mark.parametrize(("holder", "taken_over"), [(False, True), (True, False), (None, False)])
def test_a_lease_whose_process_died_is_taken_over_at_once(world: World, holder: bool | None,
                                                          taken_over: bool) -> None:
    """A process SIGKILLed mid-delivery left its lease: the next one takes it over if that
    process is gone, instead of waiting for the lease to run out; a live holder, or one on
    another host (unknown), keeps it."""
    box, log, _, clock = world
    clock.now = log.items[-1][1].timestamp.timestamp()
    eps = endpoints(HOOKS[:1])
    box.enqueue_new(log, eps, stream=STREAM, repository=REPO)
    running = {"host:1": holder}
    box.probe = Probe("host:1", running)
    assert len(box.claim(STREAM, [eps[0].key], due_only=True, lease_seconds=70)) == 1
    box.probe = Probe("host:2", running)
    again = box.claim(STREAM, [eps[0].key], due_only=False, lease_seconds=70)
    assert len(again) == (1 if taken_over else 0)


def test_an_outbox_made_before_lease_owners_gets_the_column() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE floe_webhook_outbox (delivery_id TEXT PRIMARY KEY, "
                 "stream TEXT NOT NULL, position BIGINT NOT NULL, endpoint_key TEXT NOT NULL, "
                 "event_type TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL "
                 "DEFAULT 0, rounds INTEGER NOT NULL DEFAULT 0, created_at DOUBLE PRECISION "
                 "NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL, lease_until DOUBLE "
                 "PRECISION, delivered_at DOUBLE PRECISION, last_status INTEGER, "
                 "last_error TEXT)")
    box = Outbox(conn)
    box.create_schema()
    box.create_schema()  # twice: nothing to add the second time
    columns = [row[1] for row in conn.execute("PRAGMA table_info(floe_webhook_outbox)")]
    assert columns[-1] == "lease_owner" and columns.count("lease_owner") == 1

"""Sequences the ledger state machine (test_ledger_state_machine.py) found breaking floe,
shrunk, kept as plain tests: two real SQLite ledgers, one in-memory registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.domain.model.errors import IntegrityError
from floe_ledger.domain.services.requests import AdoptRequest, PromoteRequest, RollbackRequest
from support.ledger_world import ENVIRONMENTS, LedgerWorld, verify


@pytest.fixture
def world(tmp_path: Path) -> Iterator[LedgerWorld]:
    opened = LedgerWorld(tmp_path)
    yield opened
    opened.close()


@pytest.mark.requirement("FR-035", "FR-039", "SC-003")
def test_another_ledgers_lock_of_an_empty_environment_does_not_break_the_audit(
        world: LedgerWorld) -> None:
    # a locks dev, where nothing runs: its lock record has no subject.
    with world.ledgers["a"].command() as app:
        assert app.lock_service().lock("dev", "incident 42", world.actor("a"))
    # b folds that record (status), then audits against the registry.
    with world.ledgers["b"].command() as app:
        read = app.reconcile_service().environments(ENVIRONMENTS, world.actor("b"))
    assert read.facts["dev"].locked
    outcome = verify(world.ledgers["b"].reader())  # was exit 2: "not a sha256 digest: ''"
    assert outcome.ok, outcome.payload()


@pytest.mark.requirement("FR-023", "SC-003")
def test_latest_reverted_by_hand_to_an_older_ledgers_promotion_is_drift(
        world: LedgerWorld) -> None:
    b, a = world.ledgers["b"], world.ledgers["a"]
    with b.command() as app:
        app.promotion_service().promote(PromoteRequest("v1.0.0", None, "dev"), world.actor("b"))
    with a.command() as app:  # later: latest-dev is a's v1.1.0 now
        app.promotion_service().promote(PromoteRequest("v1.1.0", None, "dev"), world.actor("a"))
    world.registry.by_hand("latest-dev", world.release["v1.0.0"])
    # b's older record of v1.0.0 in dev used to account for it: no ledger reported anything.
    outcome = verify(a.reader())
    assert [(d.tag, d.status, d.live) for d in outcome.drift] == [
        ("latest-dev", "moved", world.release["v1.0.0"])]
    assert verify(b.reader()).ok  # b's own write is what the tag names


@pytest.mark.requirement("FR-001", "FR-023", "SC-003")
@pytest.mark.parametrize("to", ["stranger", None])
def test_an_adopted_tag_moved_or_deleted_afterwards_is_drift(world: LedgerWorld,
                                                             to: str | None) -> None:
    a = world.ledgers["a"]
    with a.command() as app:  # the ledger knows v1.0.0 before adopting a tag of it
        app.promotion_service().promote(PromoteRequest("v1.0.0", None, "dev"), world.actor("a"))
    world.registry.by_hand("v1.0.0-staging", world.release["v1.0.0"])
    with a.command() as app:
        app.adoption_service().adopt(AdoptRequest("v1.0.0", "staging", "old pipeline"),
                                     world.actor("a"))
    assert verify(a.reader()).ok
    world.registry.by_hand("v1.0.0-staging", world.stranger if to else None)
    # The adoption was evidence of one digest; it used to explain the tag whatever it named.
    outcome = verify(a.reader())
    assert [(d.tag, d.status) for d in outcome.drift] == [
        ("v1.0.0-staging", "moved" if to else "deleted")]


@pytest.mark.requirement("FR-023", "TAG-06", "SC-003")
def test_an_adoption_contradicted_by_another_ledgers_record_is_drift(world: LedgerWorld) -> None:
    b, a = world.ledgers["b"], world.ledgers["a"]
    with b.command() as app:
        app.promotion_service().promote(PromoteRequest("v2.0.0", None, "dev"), world.actor("b"))
    world.registry.by_hand("v2.0.0-dev", world.release["v1.1.0"])  # moved behind floe's back
    with a.command() as app:  # a has no record of v2.0.0 at that digest, and adopts it there
        app.adoption_service().adopt(AdoptRequest("v2.0.0", "dev", "old pipeline"),
                                     world.actor("a"))
    world.registry.by_hand("v2.0.0-dev", world.release["v2.0.0"])  # and moved back
    # b's record of the tag used to account for it in a's audit too, hiding that the tag a
    # adopted no longer names what a adopted.
    outcome = verify(a.reader())
    assert [(d.tag, d.status, d.live) for d in outcome.drift] == [
        ("v2.0.0-dev", "moved", world.release["v2.0.0"])]
    assert verify(b.reader()).ok


@pytest.mark.requirement("FR-013", "TXN-02", "SC-003")
def test_a_rollback_to_a_version_the_ledger_knows_as_two_digests_writes_nothing(
        world: LedgerWorld) -> None:
    b, a = world.ledgers["b"], world.ledgers["a"]
    with b.command() as app:
        app.promotion_service().promote(PromoteRequest("v2.0.0", None, "dev"), world.actor("b"))
    world.registry.by_hand("v2.0.0-dev", world.release["v1.1.0"])  # moved behind floe's back
    with a.command() as app:  # a bare tag counts in dev: a records v2.0.0 as v1.1.0's bytes
        app.promotion_service().promote(PromoteRequest("v2.0.0", "dev", "staging"),
                                        world.actor("a"))
    with a.command() as app:  # ... and folds b's record of v2.0.0 in dev (latest-dev)
        app.promotion_service().promote(PromoteRequest("v1.0.0", None, "dev"), world.actor("a"))
    puts = len(world.registry.puts)
    with a.command() as app, pytest.raises(IntegrityError, match=r"v2\.0\.0-dev"):
        app.rollback_service().rollback(RollbackRequest("v2.0.0", "dev", reason="x"),
                                        world.actor("a"))
    # It used to write the rollback tag, latest-dev and a rollback record, then fail to
    # record the rollback: the registry said dev ran v2.0.0, the ledger did not.
    written = [tag for tag, _, _ in world.registry.puts[puts:]
               if not (tag.startswith("floe-") and tag.endswith("-index"))]
    assert written == []
    store = a.reader().store
    assert type(store.notifications(store.max_position(), 1)[0][1]).__name__ == \
        "RollbackRejected"


@pytest.mark.requirement("FR-035", "FR-036", "FR-039")
def test_a_lock_by_another_ledger_at_the_same_stream_position_is_published_and_seen(
        world: LedgerWorld) -> None:
    # a locks and unlocks dev: its unlock is event 3 of a's stream. b folds that unlock
    # (event 2 of b's stream), then locks: event 3 of b's stream, whose lock id was the same
    # as a's unlock's (the id was derived from the stream's id and position alone, and both
    # ledgers' streams have the repository's id), so b's "publish" found a's unlock record
    # under that id and kept it: a never saw b's lock.
    a, b = world.ledgers["a"], world.ledgers["b"]
    with a.command() as app:
        assert app.lock_service().lock("dev", "incident 42", world.actor("a"))
        assert app.lock_service().unlock("dev", "resolved", world.actor("a"))
    with b.command() as app:
        assert app.lock_service().lock("dev", "incident 43", world.actor("b"))
    with a.command() as app:
        read = app.reconcile_service().environments(ENVIRONMENTS, world.actor("a"))
        assert read.facts["dev"].locked
        assert app.lock_service().unlock("dev", "resolved", world.actor("a"))

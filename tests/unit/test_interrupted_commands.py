"""Rollbacks and locks interrupted between the ledger and the registry (NFR-004), on the domain
with in-memory fakes; tests/e2e/test_crash_points.py kills the real process at every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from floe_ledger.adapters.records import OciRecordWriter, list_records
from floe_ledger.adapters.records.environment import read_env_index
from floe_ledger.adapters.records.reader import OciRecordReader
from floe_ledger.adapters.system.crash_points import (
    CrashingLedger,
    CrashPoints,
    crash_points,
    step_reference,
)
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import ConfigError, RegistryUnavailableError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.oci import Manifest
from floe_ledger.domain.model.snapshot import restore, snapshot
from floe_ledger.domain.services.locks import LockService
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.reconcile import ReconcileService
from floe_ledger.domain.services.requests import PromoteRequest, RollbackRequest
from floe_ledger.domain.services.rollback import RollbackService
from support.clock import TestClock
from support.memory_registry import MemoryRegistry
from support.memory_store import MemoryStore

ACTOR = Actor("alice")


class FlakyRegistry(MemoryRegistry):
    """Refuses the PUT of one tag while ``down`` names it (the process 'dies' there)."""

    down: str | None = None

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        if reference == self.down:
            raise RegistryUnavailableError(f"PUT {reference}: connection reset")
        return super().put_manifest(reference, manifest)


@pytest.fixture
def world() -> tuple[MemoryStore, FlakyRegistry]:
    """dev ran v1.0.0, then v2.0.0."""
    store, registry = MemoryStore(), FlakyRegistry()
    promote = PromotionService(store=store, registry=registry, repository=registry.uri,
                               config=PromotionConfig(), clock=TestClock(),
                               records=OciRecordWriter())
    for n in (1, 2):
        registry.push_artifact([f"platform: v{n}".encode()], tag=f"v{n}.0.0")
        promote.promote(PromoteRequest(f"v{n}.0.0", None, "dev"), ACTOR)
    return store, registry


def to_v1(reason: str) -> RollbackRequest:
    """Roll dev back to v1.0.0, confirmed as with --yes (v2 to v1 is RISKY)."""
    return RollbackRequest("v1.0.0", "dev", reason, yes=True)


def rollbacks(store: MemoryStore, registry: MemoryRegistry) -> RollbackService:
    return RollbackService(store=store, registry=registry, repository=registry.uri,
                           config=PromotionConfig(), clock=TestClock(),
                           records=OciRecordWriter())


def locks(store: MemoryStore, registry: MemoryRegistry) -> LockService:
    return LockService(store=store, registry=registry, repository=registry.uri,
                       config=PromotionConfig(), clock=TestClock(), records=OciRecordWriter(),
                       reader=OciRecordReader())


@pytest.mark.requirement("NFR-004", "FR-013")
def test_an_interrupted_rollback_is_open_in_the_ledger_and_the_same_command_finishes_it(
        world) -> None:
    store, registry = world
    registry.down = "latest-dev"
    with pytest.raises(RegistryUnavailableError):
        rollbacks(store, registry).rollback(to_v1("bad"), ACTOR)
    art = store.load(registry.uri)
    assert art is not None and art.live["dev"].version == "v2.0.0"
    opened = art.open_rollback("dev")
    assert opened is not None and opened.version == "v1.0.0"
    assert registry.resolve(opened.rollback_tag) is not None  # written before the failure

    registry.down = None
    result = rollbacks(store, registry).rollback(to_v1("again"),
                                                 ACTOR)
    assert result.resumed
    assert (result.rollback_id, result.rollback_tag) == (opened.rollback_id, opened.rollback_tag)
    kinds = store.events(registry.uri)
    assert kinds.count("RollbackRequested") == kinds.count("RolledBack") == 1
    done = store.load(registry.uri)
    assert done is not None and done.open_rollback("dev") is None
    assert done.live["dev"].version == "v1.0.0"
    records = [r for r in list_records(registry, result.digest) if r.kind == "rollback"]
    assert len(records) == 1


@pytest.mark.requirement("NFR-004", "FR-013")
def test_an_interrupted_rollback_is_moot_once_another_version_goes_live(world) -> None:
    store, registry = world
    registry.down = "latest-dev"
    with pytest.raises(RegistryUnavailableError):
        rollbacks(store, registry).rollback(to_v1("bad"), ACTOR)
    registry.down = None
    registry.push_artifact([b"platform: v3"], tag="v3.0.0")
    PromotionService(store=store, registry=registry, repository=registry.uri,
                     config=PromotionConfig(), clock=TestClock()).promote(
        PromoteRequest("v3.0.0", None, "dev"), ACTOR)
    art = store.load(registry.uri)
    assert art is not None and art.open_rollback("dev") is None


@pytest.mark.requirement("NFR-004", "FR-035", "FR-038")
def test_a_lock_saved_but_not_published_is_shown_and_published_by_running_it_again(
        world) -> None:
    store, registry = world
    registry.down = "floe-dev-index"
    with pytest.raises(RegistryUnavailableError):
        locks(store, registry).lock("dev", "incident 7", ACTOR)
    status = ReconcileService(store=store, registry=registry, repository=registry.uri,
                              clock=TestClock(), reader=OciRecordReader())
    read = status.environments(["dev"], ACTOR)
    assert read.facts["dev"].locked
    assert any("the lock of dev" in w and "not in the registry" in w for w in read.warnings)

    registry.down = None
    for _ in range(2):  # already locked: publishes once, then finds it published
        assert locks(store, registry).lock("dev", "again", ACTOR) is False
    art = store.load(registry.uri)
    assert art is not None
    own = art.own_lock_changes["dev"]
    records = [r for r in list_records(registry, art.live["dev"].digest) if r.kind == "lock"]
    named = read_env_index(registry, "dev").lock
    assert len(records) == 1 and named is not None and named.digest == records[0].digest
    assert records[0].annotations["dev.floe.lock.status"] == "locked"
    assert own.reason == "incident 7"  # the record says what the ledger decided
    assert status.environments(["dev"], ACTOR).warnings == []


@pytest.mark.requirement("NFR-004")
def test_open_rollbacks_and_lock_changes_survive_a_snapshot(world) -> None:
    store, registry = world
    registry.down = "latest-dev"
    locks(store, registry).lock("prod", "freeze", ACTOR)
    with pytest.raises(RegistryUnavailableError):
        rollbacks(store, registry).rollback(to_v1("bad"), ACTOR)
    art = store.load(registry.uri)
    assert art is not None
    state = snapshot(art)
    copy: Any = type(art).__new__(type(art))
    restore(copy, state)
    assert snapshot(copy) == state
    assert copy.open_rollback("dev") == art.open_rollback("dev") is not None
    assert copy.own_lock_changes == art.own_lock_changes != {}


@pytest.mark.requirement("NFR-004")
def test_crash_points_are_off_unless_a_test_asks(tmp_path: Path) -> None:
    assert crash_points({}) is None
    with pytest.raises(ConfigError, match="FLOE_TEST_CRASH_AFTER"):
        crash_points({"FLOE_TEST_CRASH_AFTER": "two"})
    log = tmp_path / "steps.log"
    points = crash_points({"FLOE_TEST_CRASH_LOG": str(log)})
    assert isinstance(points, CrashPoints) and points.after is None
    store, registry = MemoryStore(), MemoryRegistry()
    registry.push_artifact([b"platform: v1"], tag="v1.0.0")
    ledger, wrapped = points.ledger(store), points.registry(registry)
    assert isinstance(ledger, CrashingLedger)
    PromotionService(store=ledger, registry=wrapped, repository=registry.uri,
                     config=PromotionConfig(), clock=TestClock(),
                     records=OciRecordWriter()).promote(PromoteRequest("v1.0.0", None, "dev"),
                                                         ACTOR)
    steps = log.read_text().splitlines()
    assert steps[0] == "ledger:ArtifactRegistered,VersionObserved,PromotionRequested"
    assert "registry:PUT v1.0.0-dev" in steps and "registry:referrer promotion" in steps
    # the head anchor: its record by digest, then this ledger's entry in dev's index
    assert steps[-2:] == ["registry:PUT <digest>", "registry:PUT floe-dev-index"]
    assert points.count == len(steps)
    assert [step_reference(r) for r in ("sha256:ab", "sha256-ab", "floe-dev-index", "x")] == [
        "<digest>", "sha256-* (referrers index)", "floe-dev-index", "x"]

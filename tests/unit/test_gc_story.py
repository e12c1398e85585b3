"""Retention (``floe gc``) on the domain with in-memory fakes: what goes, what always stays,
what is recorded, and what a registry that cannot delete a tag alone gets."""

from __future__ import annotations

import pytest

from floe_ledger.adapters.records import OciRecordWriter, list_records
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import IntegrityError, TagDeleteUnsupportedError, UsageError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import is_env_index
from floe_ledger.domain.services.gc import GcRequest, GcService
from floe_ledger.domain.services.locks import LockService
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest, RollbackRequest
from floe_ledger.domain.services.rollback import RollbackService
from support.clock import TestClock
from support.memory_registry import MemoryRegistry
from support.memory_store import MemoryStore

pytestmark = pytest.mark.requirement("ADJ-07", "FR-013", "TAG-06")

ACTOR = Actor("alice", "0" * 31 + "1")
VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0")


class World:
    def __init__(self, registry: MemoryRegistry | None = None) -> None:
        self.store, self.registry = MemoryStore(), registry or MemoryRegistry()
        config, clock, records = PromotionConfig(), TestClock(), OciRecordWriter()
        common = {"store": self.store, "registry": self.registry, "repository":
                  self.registry.uri, "config": config, "clock": clock, "records": records}
        self.promotions = PromotionService(**common)
        self.rollbacks = RollbackService(**common)
        self.locks = LockService(**common)
        self.gc = GcService(**common)

    def promote(self, version: str, source: str | None, target: str) -> None:
        self.promotions.promote(PromoteRequest(version, source, target), ACTOR)

    def tags(self) -> set[str]:
        return {t for t in self.registry.tags
                if not t.startswith("sha256-") and not is_env_index(t)}

    def events(self) -> list[str]:
        return self.store.events(self.registry.uri)


@pytest.fixture
def world() -> World:
    w = World()
    for n, version in enumerate(VERSIONS):
        w.registry.push_artifact([f"platform: {n}".encode()], tag=version)
        w.promote(version, None, "dev")
    w.promote("v1.0.0", "dev", "staging")
    w.promote("v1.1.0", "dev", "staging")
    # dev: v1.0 .. v1.4, then back to v1.1 (a rollback makes it recent again)
    w.rollbacks.rollback(RollbackRequest("v1.1.0", "dev", "bad 1.4"), ACTOR)
    return w


def test_gc_keeps_the_newest_the_running_and_the_rollback_target(world: World) -> None:
    before = world.tags()
    result = world.gc.collect(GcRequest(keep=2), ACTOR)
    # dev ran v1.0, v1.1, v1.2, v1.3, v1.4, v1.1 (rollback): v1.1 runs, v1.4 is before it.
    assert sorted(result.deleted) == ["v1.0.0-dev", "v1.2.0-dev", "v1.3.0-dev"]
    assert world.tags() == before - set(result.deleted)
    reasons = {p["tag"]: p["reason"] for p in result.plan}
    assert reasons["v1.1.0-dev"] == "runs in dev"
    assert reasons["v1.1.0-dev-rollback-1"] == "runs in dev"
    assert reasons["v1.4.0-dev"] == "among the 2 most recent in dev"
    assert {"v1.0.0-staging", "v1.1.0-staging", "latest-dev", "latest-staging"} <= world.tags()
    assert set(VERSIONS) <= world.tags()  # release tags are never touched
    # Each manifest is still there, and so is its promotion record.
    for version in ("v1.0.0", "v1.2.0", "v1.3.0"):
        digest = world.registry.tags[version]
        assert {r.kind for r in list_records(world.registry, digest)} >= {"promotion",
                                                                           "collection"}
    assert world.events()[-1] == "TagsCollected"
    # Nothing left to collect: nothing deleted, nothing recorded.
    count = len(world.events())
    again = world.gc.collect(GcRequest(keep=2), ACTOR)
    assert again.deleted == {} and again.absent == {} and len(world.events()) == count


def test_keep_one_still_keeps_what_a_rollback_goes_back_to(world: World) -> None:
    result = world.gc.collect(GcRequest(keep=1, environments=("staging",)), ACTOR)
    assert result.deleted == {}  # staging ran v1.0 then v1.1: both stay
    # and the rollback to it still has what its impact analysis compares
    check = world.rollbacks.rollback(RollbackRequest("v1.0.0", "staging", "x", dry_run=True),
                                     ACTOR)
    assert check.impact["risk"] and check.impact["current_version"] == "v1.1.0"


def test_a_dry_run_lists_and_changes_nothing(world: World) -> None:
    before, events = dict(world.registry.tags), world.events()
    result = world.gc.collect(GcRequest(keep=2, dry_run=True), ACTOR)
    assert sorted(p["tag"] for p in result.plan if p["action"] == "delete") == [
        "v1.0.0-dev", "v1.2.0-dev", "v1.3.0-dev"]
    assert result.deleted == {} and world.registry.tags == before
    assert world.events() == events


def test_a_locked_environment_is_not_touched(world: World) -> None:
    world.locks.lock("dev", "incident 7", ACTOR)
    result = world.gc.collect(GcRequest(keep=1), ACTOR)
    assert result.deleted == {}
    assert {p["reason"] for p in result.plan if p["environment"] == "dev"} == {
        "dev is locked (incident 7, by alice)"}


def test_tags_no_record_explains_and_the_last_tags_of_a_digest_stay(world: World) -> None:
    world.registry.retag("v1.4.0", "v9.9.9-dev")  # pushed by hand: floe has no record of it
    del world.registry.tags["v1.2.0"]  # v1.2.0 ran in dev only: its dev tag is its last
    del world.registry.tags["v1.0.0"]  # v1.0.0-staging still names v1.0.0's digest
    result = world.gc.collect(GcRequest(keep=2), ACTOR)
    assert sorted(result.deleted) == ["v1.0.0-dev", "v1.3.0-dev"]
    why = {p["tag"]: p["reason"] for p in result.plan}
    assert why["v9.9.9-dev"] == "this ledger has no record of v9.9.9 running in dev"
    assert why["v1.2.0-dev"].startswith("the last tags naming sha256:")
    assert "v9.9.9-dev" in world.registry.tags and "v1.2.0-dev" in world.registry.tags


def test_a_tag_deleted_by_an_interrupted_gc_is_recorded_as_absent(world: World) -> None:
    del world.registry.tags["v1.2.0-dev"]  # gone before floe recorded it
    result = world.gc.collect(GcRequest(keep=2), ACTOR)
    assert sorted(result.deleted) == ["v1.0.0-dev", "v1.3.0-dev"]
    assert list(result.absent) == ["v1.2.0-dev"]


def test_keep_must_be_positive(world: World) -> None:
    with pytest.raises(UsageError):
        world.gc.collect(GcRequest(keep=0), ACTOR)


class NoTagDelete(MemoryRegistry):
    """distribution 2.x: deleting a tag alone is refused."""

    def delete_tag(self, tag: str) -> bool:
        raise TagDeleteUnsupportedError(f"cannot delete {tag} alone")


class DeletesTheManifest(MemoryRegistry):
    """A registry that takes the manifest and every tag of it along with one tag."""

    def delete_tag(self, tag: str) -> bool:
        digest = self.tags.pop(tag)
        for other in [t for t, d in self.tags.items() if d == digest]:
            del self.tags[other]
        return True


def _aged(registry: MemoryRegistry) -> World:
    w = World(registry)
    for n, version in enumerate(VERSIONS[:4]):
        w.registry.push_artifact([f"platform: {n}".encode()], tag=version)
        w.promote(version, None, "dev")
    return w


def test_a_registry_that_cannot_delete_a_tag_alone_stops_gc_before_any_change() -> None:
    w = _aged(NoTagDelete())
    before, events = dict(w.registry.tags), w.events()
    with pytest.raises(TagDeleteUnsupportedError):
        w.gc.collect(GcRequest(keep=2), ACTOR)
    assert w.registry.tags == before and w.events() == events


def test_a_registry_that_deletes_the_manifest_is_stopped_and_the_release_tag_put_back() -> None:
    w = _aged(DeletesTheManifest())
    digest = w.registry.tags["v1.0.0"]
    with pytest.raises(IntegrityError, match=r"removed more than tag v1\.0\.0-dev"):
        w.gc.collect(GcRequest(keep=2), ACTOR)
    assert w.registry.tags["v1.0.0"] == digest  # written back from the bytes read before
    assert "v1.1.0-dev" in w.registry.tags  # it stopped at the first
    assert w.events()[-1] == "TagsCollected"  # what did go is recorded

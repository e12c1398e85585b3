"""The promotion story, step by step, on the domain with in-memory fakes."""

from __future__ import annotations

import pytest

from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import (
    EnvironmentLockedError,
    IntegrityError,
    InvalidTransitionError,
    NotFoundError,
    TagExistsError,
)
from floe_ledger.domain.model.identity import Actor, Operator
from floe_ledger.domain.services.locks import LockService
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest
from support.clock import TestClock
from support.memory_registry import MemoryRegistry
from support.memory_store import MemoryStore

ACTOR = Actor("alice", "0" * 31 + "1")
# --break-glass needs an authenticated operator (FR-045): alice, as the registry knows her.
VOUCHED = Actor("alice", "0" * 31 + "1", Operator("alice", "registry", authenticated=True))


@pytest.fixture
def world() -> tuple[MemoryStore, MemoryRegistry, PromotionService]:
    store, registry = MemoryStore(), MemoryRegistry()
    registry.push_artifact([b"platform: v1"], tag="v1.2.3")
    service = PromotionService(store=store, registry=registry, repository=registry.uri,
                               clock=TestClock(),
                               config=PromotionConfig())
    return store, registry, service


@pytest.mark.requirement("FR-001", "FR-002", "FR-003")
def test_a_release_goes_dev_then_staging_with_the_same_bytes(world) -> None:
    store, registry, service = world
    # Enter the first environment from the release tag.
    first = service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    assert first.tags == ["v1.2.3-dev", "latest-dev"]
    # Promote to the next environment.
    second = service.promote(PromoteRequest("v1.2.3", "dev", "staging"), ACTOR)
    release = registry.get_manifest("v1.2.3")
    for tag in ("v1.2.3-dev", "v1.2.3-staging", "latest-staging"):
        assert registry.get_manifest(tag).data == release.data
    assert second.digest == release.digest
    # The ledger tells the story.
    assert store.events(registry.uri) == [
        "ArtifactRegistered", "VersionObserved", "PromotionRequested", "SignatureVerified",
        "TagWritten", "TagWritten", "PromotionCompleted",
        "PromotionRequested", "SignatureVerified",
        "TagWritten", "TagWritten", "PromotionCompleted",
    ]


@pytest.mark.requirement("FR-001", "EDGE-08")
def test_skipping_an_environment_is_refused_and_recorded(world) -> None:
    store, registry, service = world
    service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    with pytest.raises(InvalidTransitionError) as err:
        service.promote(PromoteRequest("v1.2.3", "dev", "prod"), ACTOR)
    assert err.value.exit_code == 9
    assert "staging" in err.value.message
    assert err.value.details["required_path"] == ["dev", "staging", "prod"]
    assert store.events(registry.uri)[-1] == "PromotionRejected"
    assert registry.resolve("v1.2.3-prod") is None


@pytest.mark.requirement("EDGE-09")
def test_promoting_backwards_is_refused_with_a_pointer_to_rollback(world) -> None:
    _, _, service = world
    service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    service.promote(PromoteRequest("v1.2.3", "dev", "staging"), ACTOR)
    with pytest.raises(InvalidTransitionError, match="rollback"):
        service.promote(PromoteRequest("v1.2.3", "staging", "dev"), ACTOR)


@pytest.mark.requirement("TAG-06", "TXN-05", "EDGE-02")
def test_promoting_twice_is_tag_exists_and_force_writes_nothing_new(world) -> None:
    store, registry, service = world
    service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    with pytest.raises(TagExistsError) as err:
        service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    assert err.value.exit_code == 10
    before = len(store.events(registry.uri))
    again = service.promote(PromoteRequest("v1.2.3", None, "dev", force=True), ACTOR)
    assert again.nothing_written
    assert len(store.events(registry.uri)) == before


@pytest.mark.requirement("TXN-06")
def test_an_env_tag_pointing_elsewhere_is_never_repointed_even_with_force(world) -> None:
    _, registry, service = world
    registry.push_artifact([b"something else"], tag="v1.2.3-dev")
    with pytest.raises(TagExistsError, match="points at"):
        service.promote(PromoteRequest("v1.2.3", None, "dev", force=True), ACTOR)


@pytest.mark.requirement("EDGE-01")
def test_an_unknown_version_is_not_found_and_lists_what_exists(world) -> None:
    _, _, service = world
    service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    with pytest.raises(NotFoundError) as err:
        service.promote(PromoteRequest("v9.9.9", "dev", "staging"), ACTOR)
    assert err.value.exit_code == 3
    assert err.value.details["available_versions"] == ["v1.2.3"]


def test_a_version_already_in_the_registry_is_observed_not_invented(world) -> None:
    store, registry, service = world
    registry.push_artifact([b"made by CI"], tag="v2.0.0-dev")
    result = service.promote(PromoteRequest("v2.0.0", "dev", "staging"), ACTOR)
    assert result.digest == registry.resolve("v2.0.0-dev").digest
    assert "VersionObserved" in store.events(registry.uri)


def test_a_tag_moved_outside_floe_is_drift(world) -> None:
    _, registry, service = world
    service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    registry.push_artifact([b"tampered"], tag="v1.2.3")  # release tag re-pointed
    other = registry.resolve("v1.2.3")
    assert other is not None
    with pytest.raises((IntegrityError, TagExistsError)):
        service.promote(PromoteRequest("v1.2.3", None, "dev", force=True), ACTOR)


@pytest.mark.requirement("FR-035", "FR-036", "FR-038")
def test_a_locked_environment_refuses_until_unlocked_and_break_glass_is_recorded(world) -> None:
    store, registry, service = world
    ops = LockService(store, registry, registry.uri, PromotionConfig(), TestClock())
    service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    assert ops.lock("staging", "incident 42", Actor("sre")) is True
    assert ops.lock("staging", "again", Actor("sre")) is False
    with pytest.raises(EnvironmentLockedError) as err:
        service.promote(PromoteRequest("v1.2.3", "dev", "staging"), ACTOR)
    assert err.value.exit_code == 13
    assert "incident 42" in err.value.message and "sre" in err.value.hint
    result = service.promote(
        PromoteRequest("v1.2.3", "dev", "staging", break_glass="hotfix for incident 42"),
        VOUCHED)
    assert result.tags == ["v1.2.3-staging", "latest-staging"]
    assert "LockBroken" in store.events(registry.uri)
    assert ops.unlock("staging", "resolved", Actor("sre")) is True
    assert store.events(registry.uri).count("EnvironmentUnlocked") == 1


def test_an_interrupted_promotion_is_resumed_when_its_owner_is_gone(world) -> None:
    store, registry, service = world

    class DeadOwner:
        def owner(self) -> str:
            return "host:1"

        def alive(self, owner: str) -> bool | None:
            return False

    service.probe = DeadOwner()
    original = registry.put_manifest
    calls = {"n": 0}

    def failing_second_put(reference, manifest):
        calls["n"] += 1
        if reference == "latest-dev":
            raise RuntimeError("registry died between the two tag writes")
        return original(reference, manifest)

    registry.put_manifest = failing_second_put  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    registry.put_manifest = original  # type: ignore[method-assign]
    assert registry.resolve("v1.2.3-dev") is not None
    assert registry.resolve("latest-dev") is None
    resumed = service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    assert resumed.resumed
    assert registry.resolve("latest-dev").digest == resumed.digest
    kinds = store.events(registry.uri)
    assert kinds.count("PromotionRequested") == 1
    assert kinds.count("TagWritten") == 2
    assert kinds.count("PromotionCompleted") == 1


def test_a_lost_race_is_re_decided_on_fresh_state(world) -> None:
    store, registry, service = world
    service.promote(PromoteRequest("v1.2.3", None, "dev"), ACTOR)
    stale = store.load(registry.uri)
    ops = LockService(store, registry, registry.uri, PromotionConfig(), TestClock())
    ops.lock("prod", "freeze", Actor("sre"))  # another writer moves the stream on
    assert stale is not None and "prod" not in stale.locks
    result = service.promote(PromoteRequest("v1.2.3", "dev", "staging"), ACTOR)
    assert result.tags[0] == "v1.2.3-staging"

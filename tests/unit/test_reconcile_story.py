"""Many ledgers, one registry: what another ledger recorded counts here, on the domain with
in-memory fakes (a scripted record reader stands in for the registry's records)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import EnvironmentLockedError, UnexplainedTagError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.records import ObservedRecord, RecordScan, RejectedRecord
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.reconcile import ReconcileService
from floe_ledger.domain.services.requests import PromoteRequest
from support.clock import TestClock
from support.memory_registry import MemoryRegistry
from support.memory_store import MemoryStore

ACTOR = Actor("bob")
NOW = datetime.now(UTC)


class ScriptedRecords:
    """Returns the records it was given, minus those the ledger already knows."""

    def __init__(self, *records: ObservedRecord, rejected: Sequence[RejectedRecord] = ()) -> None:
        self.records, self.rejected = list(records), list(rejected)

    def scan(self, registry: object, tags: Sequence[str], *, known: Collection[str] = (),
             ledger_id: str = "", also: Sequence[str] = ()) -> RecordScan:
        return RecordScan([r for r in self.records if r.digest not in known],
                          list(self.rejected))


def record(kind: str, env: str, *, version: str | None = "v1.0.0", digest: str = "",
           at: datetime = NOW, status: str | None = None, n: int = 1) -> ObservedRecord:
    return ObservedRecord(digest=f"sha256:{n:064x}", kind=kind, ledger_id="other-ledger",
                          record_id=f"r{n}", subject_digest=digest, environment=env,
                          operator="alice", at=at, version=version, status=status,
                          reason="incident 42" if kind == "lock" else "")


@pytest.fixture
def world() -> tuple[MemoryStore, MemoryRegistry, str]:
    store, registry = MemoryStore(), MemoryRegistry()
    digest = registry.push_artifact([b"platform: v1"], tag="v1.0.0-dev").digest
    registry.push_artifact([b"platform: v1"], tag="v1.0.0-staging")
    return store, registry, digest


def service(store: MemoryStore, registry: MemoryRegistry, reader: ScriptedRecords
            ) -> PromotionService:
    return PromotionService(store=store, registry=registry, repository=registry.uri,
                            config=PromotionConfig(), clock=TestClock(), reader=reader)


@pytest.mark.requirement("FR-035", "FR-039")
def test_another_ledgers_lock_refuses_a_promotion_here(world) -> None:
    store, registry, _ = world
    # Another ledger recorded that alice locked staging.
    reader = ScriptedRecords(record("lock", "staging", version=None, status="locked"))
    with pytest.raises(EnvironmentLockedError, match="incident 42"):
        service(store, registry, reader).promote(PromoteRequest("v1.0.0", "dev", "staging"),
                                                 ACTOR)
    # The record was folded once, before the refusal was recorded.
    assert store.events(registry.uri) == ["ArtifactRegistered", "RecordObserved",
                                          "PromotionRejected"]


@pytest.mark.requirement("FR-001", "TAG-06")
def test_a_tag_another_ledger_recorded_is_evidence_and_a_bare_tag_is_not(world) -> None:
    store, registry, digest = world
    # No record explains v1.0.0-staging: promoting from it is refused (exit 9).
    with pytest.raises(UnexplainedTagError, match=r"v1\.0\.0-staging was not written") \
            as refused:
        service(store, registry, ScriptedRecords()).promote(
            PromoteRequest("v1.0.0", "staging", "prod"), ACTOR)
    assert "floe ledger adopt v1.0.0 --env staging" in refused.value.hint
    # Another ledger's record of the promotion into staging explains it.
    explained = ScriptedRecords(record("promotion", "staging", digest=digest, n=2))
    result = service(store, registry, explained).promote(
        PromoteRequest("v1.0.0", "staging", "prod"), ACTOR)
    assert result.tags == ["v1.0.0-prod", "latest-prod"]


@pytest.mark.requirement("FR-031")
def test_an_older_record_is_history_and_a_newer_one_is_what_runs(world) -> None:
    store, registry, digest = world
    reconcile = ReconcileService(store, registry, registry.uri, TestClock(), ScriptedRecords(
        record("promotion", "dev", digest=digest, at=NOW, n=3),
        record("promotion", "dev", version="v0.9.0", digest="sha256:" + "9" * 64,
               at=NOW - timedelta(days=1), n=4),
        rejected=[RejectedRecord("sha256:" + "e" * 64, "edited after it was written")]))
    warnings = reconcile.environments(["dev"], ACTOR).warnings
    assert warnings == [f"registry record sha256:{'e' * 64} ignored: edited after it was "
                        "written"]
    artifact = store.load(registry.uri)
    assert artifact is not None
    assert artifact.live["dev"].version == "v1.0.0"
    assert [lv.version for lv in artifact.timeline["dev"]] == ["v0.9.0", "v1.0.0"]
    # Reconciling again folds nothing new.
    reconcile.environments(["dev"], ACTOR)
    assert store.events(registry.uri).count("RecordObserved") == 2

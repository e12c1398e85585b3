"""What ``floe platform rollback`` prints on a terminal, line by line, at 100 columns.

The dry run comes from the real services over the in-memory store and registry, so the
impact analysis has the shape ``analyze_rollback`` gives it.
"""

from __future__ import annotations

import pytest

from floe_ledger.cli.render.rollback import render_impact, render_rollback
from floe_ledger.domain.model.config import DependentConfig, PromotionConfig
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest, RollbackRequest, RollbackResult
from floe_ledger.domain.services.rollback import RollbackService
from support.clock import TestClock
from support.memory_registry import MemoryRegistry
from support.memory_store import MemoryStore

ACTOR = Actor("alice", "0" * 31 + "1")
RISKY = pytest.mark.requirement("FR-013", "FR-014", "FR-015", "FR-016", "FR-017", "US3",
                                "TAG-04", "RB-06", "EDGE-07")


@pytest.fixture
def dry_run() -> RollbackResult:
    """dev runs v2.0.0 after v1.0.0; a dependent needs >=2.0.0; roll dev back to v1.0.0."""
    store, registry = MemoryStore(), MemoryRegistry()
    promotions = PromotionService(store=store, registry=registry, repository=registry.uri,
                                  config=PromotionConfig(), clock=TestClock())
    for version in ("v1.0.0", "v2.0.0"):
        registry.push_artifact([f"platform: {version}".encode()], tag=version)
        promotions.promote(PromoteRequest(version, None, "dev"), ACTOR)
    ops = RollbackService(store, registry, registry.uri, PromotionConfig(), TestClock(),
                          dependents=[DependentConfig(name="orders-pipeline",
                                                      constraint=">=2.0.0")])
    return ops.rollback(RollbackRequest("v1.0.0", "dev", "", dry_run=True), ACTOR)


@RISKY
def test_a_dry_run_shows_the_rollback_then_its_impact(terminal, dry_run) -> None:
    render_rollback(terminal.out, dry_run, "bad v2")
    render_impact(terminal.out.console.print, dry_run.impact)
    went_live = dry_run.impact["undone"][0]["went_live_at"]
    recommendations = ("orders-pipeline requires >=2.0.0, which v1.0.0 does not satisfy: "
                       "roll it back first or keep the current version; check schema and API "
                       "compatibility: major version 2 -> 1: APIs or schemas introduced in "
                       "v2.0.0 disappear; this undoes v2.0.0 in dev; make sure no data written "
                       "by them is lost; files with other content in v1.0.0: layer 0")
    assert terminal.lines() == [
        "Dry run: roll dev back to v1.0.0: BLOCKED",
        "  blocked: rollback of dev to v1.0.0 is BLOCKED by its impact analysis",
        f"  hint: {recommendations} (--force overrides)",
        f"  previous    v2.0.0 ({dry_run.previous_digest})",
        f"  digest      {dry_run.digest}",
        '  reason      "bad v2"',
        "  trace id    4bf92f3577b34da6a3ce929d0e0e4736",
        "Impact analysis: BLOCKED",
        f"  undoes 1 version(s): v2.0.0 (live since {went_live})",
        "  breaking changes: 1",
        "    - major version 2 -> 1: APIs or schemas introduced in v2.0.0 disappear",
        "  affected products: 1",
        "    - orders-pipeline >=2.0.0 (BREAKS)",
        "  diff: annotations +0 -0 ~0; files +0 -0 ~1; config changed: False",
        "  recommendation: orders-pipeline requires >=2.0.0, which v1.0.0 does not satisfy: "
        "roll it back first or keep the current version",
        "  recommendation: check schema and API compatibility: major version 2 -> 1: APIs or "
        "schemas introduced in v2.0.0 disappear",
        "  recommendation: this undoes v2.0.0 in dev; make sure no data written by them is lost",
        "  recommendation: files with other content in v1.0.0: layer 0",
    ]


@RISKY
def test_a_rollback_names_its_immutable_tag_and_where_latest_now_points(terminal) -> None:
    result = RollbackResult("r1", "v1.0.0", "prod", digest="sha256:" + "aa" * 32,
                            previous_version="v2.0.0", previous_digest="sha256:" + "bb" * 32,
                            rollback_tag="v1.0.0-prod-rollback-1")
    render_rollback(terminal.out, result, "bad [v2]")
    assert terminal.lines() == [
        "Rolled back prod to v1.0.0",
        f"  previous    v2.0.0 (sha256:{'bb' * 32})",
        f"  digest      sha256:{'aa' * 32}",
        "  tag         v1.0.0-prod-rollback-1 (immutable)",
        "  latest      latest-prod -> v1.0.0",
        '  reason      "bad [v2]"',
        "  trace id    4bf92f3577b34da6a3ce929d0e0e4736",
    ]


@RISKY
def test_rolling_back_to_what_is_live_does_nothing(terminal) -> None:
    render_rollback(terminal.out, RollbackResult("r2", "v1.0.0", "prod", nothing_to_do=True),
                    "again")
    assert terminal.lines() == ["v1.0.0 is already live in prod; nothing to do"]

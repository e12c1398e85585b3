"""SC-005: dry-run predicts the real outcome, because it runs the same code."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.model.gate_results import GateResult
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.services.locks import LockService
from floe_ledger.domain.services.ports import GateRequest, SignatureOutcome
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest
from support.clock import TestClock
from support.memory_registry import MemoryRegistry
from support.memory_store import MemoryStore

ACTOR = Actor("ci")


class ScriptedGates:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses

    def gate_names(self, target: str) -> list[str]:
        return [f"g{i}" for i in range(len(self.statuses))]

    def run(self, context: GateRequest) -> list[GateResult]:
        return [GateResult.model_validate({"gate": f"g{i}", "status": s, "duration_ms": 1,
                                           "error": "boom" if s == "failed" else None})
                for i, s in enumerate(self.statuses)]


class ScriptedSignature:
    def __init__(self, decision: str) -> None:
        self.decision = decision

    def check(self, registry: Any, digest: str, *, use_cache: bool) -> SignatureOutcome:
        status = {"proceed": "verified", "warn": "unsigned", "refuse": "failed"}[self.decision]
        return SignatureOutcome(self.decision, {"status": status}, f"signature {status}")


def outcome(gates: list[str], decision: str, locked: bool, pre_tag: str, target: str,
            dry_run: bool) -> tuple[int, list[str]]:
    store, registry = MemoryStore(), MemoryRegistry()
    registry.push_artifact([b"x"], tag="v1.0.0")
    registry.push_artifact([b"x"], tag="v1.0.0-dev")
    if pre_tag == "same":
        registry.push_artifact([b"x"], tag="v1.0.0-staging")
    elif pre_tag == "other":
        registry.push_artifact([b"y"], tag="v1.0.0-staging")
    config = PromotionConfig()
    if locked:
        locks = LockService(store, registry, registry.uri, config, TestClock())
        locks.lock(target, "freeze", ACTOR)
    service = PromotionService(store=store, registry=registry, repository=registry.uri,
                               clock=TestClock(), config=config, gates=ScriptedGates(gates),
                               signatures=ScriptedSignature(decision))
    try:
        result = service.promote(PromoteRequest("v1.0.0", "dev", target, dry_run=dry_run), ACTOR)
    except FloeError as err:
        return int(err.exit_code), [err.code]
    if result.blocking:
        return int(result.blocking[0]["exit_code"]), [b["code"] for b in result.blocking]
    return 0, []


@pytest.mark.requirement("SC-005", "FR-007", "US2")
@settings(max_examples=150, deadline=None)
@given(
    gates=st.lists(st.sampled_from(["passed", "warning", "skipped", "failed"]), max_size=5),
    decision=st.sampled_from(["proceed", "warn", "refuse"]),
    locked=st.booleans(),
    pre_tag=st.sampled_from(["none", "same", "other"]),
    target=st.sampled_from(["staging", "prod"]),
)
def test_dry_run_exit_code_equals_the_real_runs(gates, decision, locked, pre_tag,
                                                 target) -> None:
    predicted_code, predicted = outcome(gates, decision, locked, pre_tag, target, dry_run=True)
    real_code, real = outcome(gates, decision, locked, pre_tag, target, dry_run=False)
    assert predicted_code == real_code
    # The real run stops at the first refusal; the dry run lists every blocker after it.
    assert predicted[:1] == real[:1]


@pytest.mark.requirement("US2", "CLI-02")
def test_dry_run_estimates_from_past_gate_durations() -> None:
    store, registry = MemoryStore(), MemoryRegistry()
    for tag in ("v1.0.0", "v1.0.0-dev", "v2.0.0-dev"):
        registry.push_artifact([tag.encode()], tag=tag)
    service = PromotionService(store=store, registry=registry, repository=registry.uri,
                               clock=TestClock(), config=PromotionConfig(),
                               gates=ScriptedGates(["passed"] * 2))
    first = service.promote(PromoteRequest("v1.0.0", "dev", "staging", dry_run=True), ACTOR)
    assert first.estimate["estimated_ms"] is None and first.estimate["unknown"] == ["g0", "g1"]
    service.promote(PromoteRequest("v1.0.0", "dev", "staging"), ACTOR)
    second = service.promote(PromoteRequest("v2.0.0", "dev", "staging", dry_run=True), ACTOR)
    assert second.estimate == {"gates": {"g0": 1, "g1": 1}, "estimated_ms": 1, "runs": 2,
                               "unknown": []}

"""Record annotations: the ANN-* keys per kind and the 64 KB budget (NFR-005)."""

from __future__ import annotations

import pytest

from floe_ledger.adapters.records import record_document
from floe_ledger.adapters.records.annotations import (
    BUDGET,
    CORE,
    TRUNCATED,
    annotations_for,
    cut,
    fit,
    gates_summary,
    size_of,
)

CREATED = "2026-11-01T09:00:00.000000Z"
HEAD = {"artifact_id": "5b1c0b9e-1111-5222-8333-444455556666", "version": 11, "hash": "ab" * 32}
PROMOTION = {
    "promotion_id": "0f8e7d6c-5b4a-4321-8765-0123456789ab", "version": "v1.2.3",
    "digest": "sha256:" + "1" * 64, "source_environment": "dev", "target_environment": "staging",
    "tags": ["v1.2.3-staging", "latest-staging"], "operator": "alice", "trace_id": "t" * 32,
    "gate_results": [{"gate": "policy_compliance", "status": "passed"},
                     {"gate": "trivy", "status": "warning"}],
    "signature": {"status": "verified", "mode": "keyless", "issuer": "https://issuer",
                  "cached": True, "details": {"nested": "not an annotation"}},
    "ledger_head": HEAD,
}


@pytest.mark.requirement("ANN-01", "ANN-02", "ANN-03", "ANN-04", "ANN-05", "ANN-06", "ANN-16")
def test_promotion_annotations_carry_the_ann_keys() -> None:
    notes = annotations_for("promotion", PROMOTION, CREATED)
    assert notes["dev.floe.promotion.id"] == PROMOTION["promotion_id"]
    assert notes["dev.floe.promotion.source-env"] == "dev"
    assert notes["dev.floe.promotion.target-env"] == "staging"
    assert notes["dev.floe.promotion.operator"] == "alice"
    assert notes["dev.floe.promotion.promoted-at"] == CREATED
    assert notes["dev.floe.promotion.gates-passed"] == (
        "2/2 passed: policy_compliance=passed, trivy=warning")
    assert notes["dev.floe.signature.status"] == "verified"
    assert notes["dev.floe.signature.cached"] == "true"
    assert "dev.floe.signature.details" not in notes
    assert notes["org.opencontainers.image.created"] == CREATED
    assert (notes["dev.floe.ledger.artifact-id"], notes["dev.floe.ledger.version"],
            notes["dev.floe.ledger.head"]) == (HEAD["artifact_id"], "11", HEAD["hash"])


@pytest.mark.requirement("ANN-07", "ANN-08", "ANN-09", "ANN-10", "ANN-11")
def test_rollback_annotations_carry_the_ann_keys() -> None:
    record = {"rollback_id": "r-1", "reason": "bad config", "operator": "bob",
              "previous_digest": "sha256:" + "2" * 64, "environment": "prod",
              "version": "v1.2.2"}
    notes = annotations_for("rollback", record, CREATED)
    assert notes["dev.floe.rollback.id"] == "r-1"
    assert notes["dev.floe.rollback.reason"] == "bad config"
    assert notes["dev.floe.rollback.operator"] == "bob"
    assert notes["dev.floe.rollback.rolled-back-at"] == CREATED
    assert notes["dev.floe.rollback.previous-digest"] == "sha256:" + "2" * 64


@pytest.mark.requirement("ANN-12", "ANN-13", "ANN-14", "ANN-15")
def test_lock_annotations_carry_the_ann_keys() -> None:
    notes = annotations_for("lock", {"environment": "prod", "reason": "freeze",
                                     "operator": "carol", "status": "locked"}, CREATED)
    assert notes["dev.floe.lock.status"] == "locked"
    assert notes["dev.floe.lock.reason"] == "freeze"
    assert notes["dev.floe.lock.locked-by"] == "carol"
    assert notes["dev.floe.lock.locked-at"] == CREATED


@pytest.mark.requirement("ANN-12", "ANN-14", "ANN-15")
def test_an_unlock_names_who_unlocked_it_and_when_in_unlock_fields() -> None:
    at = "2026-11-27T10:00:00+00:00"
    notes = annotations_for("lock", {"environment": "prod", "reason": "thaw", "operator": "dave",
                                     "status": "unlocked", "locked_at": at}, CREATED)
    assert notes["dev.floe.lock.status"] == "unlocked"
    assert notes["dev.floe.lock.unlocked-by"] == "dave"
    assert notes["dev.floe.lock.unlocked-at"] == at
    assert not {"dev.floe.lock.locked-by", "dev.floe.lock.locked-at"} & notes.keys()


def test_no_gates_is_said_plainly() -> None:
    assert gates_summary([]) == "none"


@pytest.mark.requirement("ANN-06")
def test_a_skipped_gate_is_not_counted_as_passed() -> None:
    assert gates_summary([{"gate": "policy", "status": "passed"},
                          {"gate": "scan", "status": "warning"},
                          {"gate": "cost", "status": "skipped"}]) == (
        "2/3 passed: policy=passed, scan=warning, cost=skipped")


@pytest.mark.requirement("NFR-005")
def test_a_record_far_over_budget_is_cut_to_fit_keeping_core_fields() -> None:
    many = [{"gate": f"gate-{i:04d}-" + "x" * 40, "status": "passed"} for i in range(3000)]
    record = dict(PROMOTION, gate_results=many, signature={"status": "verified",
                                                           "subject": "s" * 200_000})
    notes, cut_keys = fit(annotations_for("promotion", record, CREATED))
    assert size_of(notes) <= BUDGET
    assert notes[TRUNCATED] == "true"
    assert "dev.floe.promotion.gates-passed" in cut_keys
    for key in CORE & set(annotations_for("promotion", record, CREATED)):
        assert notes[key] == annotations_for("promotion", record, CREATED)[key]
    assert notes["dev.floe.promotion.gates-passed"].endswith("…")


@pytest.mark.requirement("NFR-005")
def test_a_record_within_budget_is_untouched() -> None:
    notes = annotations_for("promotion", PROMOTION, CREATED)
    assert fit(notes) == (notes, [])


@pytest.mark.requirement("NFR-005")
def test_multibyte_text_is_cut_on_a_character_boundary() -> None:
    text = "é" * 100
    short = cut(text, 51)
    assert short.endswith("…") and len(short.encode()) <= 51
    short.encode().decode()  # still valid UTF-8


@pytest.mark.requirement("NFR-005")
def test_a_long_reason_under_many_escapes_still_fits() -> None:
    record = {"rollback_id": "r", "reason": '"\\' * 50_000, "operator": "bob"}
    notes, keys = fit(annotations_for("rollback", record, CREATED))
    assert size_of(notes) <= BUDGET and keys == ["dev.floe.rollback.reason"]


@pytest.mark.requirement("FR-027")
def test_the_record_layer_has_every_fr027_field() -> None:
    doc = record_document("promotion", PROMOTION, PROMOTION["digest"], CREATED)
    for key in ("promotion_id", "artifact_digest", "source_environment", "target_environment",
                "operator", "timestamp", "gate_results", "signature_status"):
        assert doc[key] not in (None, ""), key
    assert doc["signature_status"] == "verified"


def test_a_collection_record_names_what_gc_deleted_and_never_loses_its_core() -> None:
    record = {"collection_id": "c0ffee00-0000-4000-8000-000000000001", "version": "v1.0.0",
              "operator": "alice", "collected_at": CREATED, "keep": 3,
              "tags": [f"v1.0.0-e{i}" for i in range(4000)], "ledger_head": HEAD}
    notes, cut = fit(annotations_for("collection", record, CREATED))
    assert notes["dev.floe.collection.id"] == record["collection_id"]
    assert (notes["dev.floe.collection.operator"], notes["dev.floe.collection.version"],
            notes["dev.floe.collection.keep"]) == ("alice", "v1.0.0", "3")
    assert cut == ["dev.floe.collection.tags"]  # the long list is cut, the core is not
    assert notes["dev.floe.collection.tags"].startswith("v1.0.0-e0,v1.0.0-e1,")

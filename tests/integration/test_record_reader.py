"""Reading other ledgers' records back, against a real registry (no referrers API: the
fallback index) and an OCI image layout: what is folded, what is refused, and what it costs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from floe_ledger.adapters.records import OciRecordWriter
from floe_ledger.adapters.records.reader import OciRecordReader
from floe_ledger.adapters.registry import push_files
from floe_ledger.domain.model.oci import Manifest, sha256_digest
from floe_ledger.domain.services.ports import Registry

pytestmark = pytest.mark.requirement("FR-023", "FR-026", "FR-035")

HEAD = {"artifact_id": "a", "version": 3, "hash": "f" * 64}


def _push(registry: Registry, tmp_path: Path, tag: str) -> Manifest:
    path = tmp_path / f"{tag}.yaml"
    path.write_text(f"release: {tag}\n")
    return push_files(registry, [path], tag)


def _promotion(ledger: str, operator: str = "alice") -> dict[str, object]:
    return {"kind": "promotion", "promotion_id": "0f1e2d3c-4b5a-4000-8000-000000000001",
            "version": "v1.0.0", "source_environment": "dev", "target_environment": "staging",
            "operator": operator, "ledger_head": {**HEAD, "ledger_id": ledger}}


def test_records_of_another_ledger_are_read_verified_and_counted(registry: Registry,
                                                                 tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0-staging")
    writer = OciRecordWriter()
    theirs = writer.write(registry, artifact.digest, _promotion("ledger-b"))
    lock = writer.write(registry, "", {"kind": "lock", "lock_id": "9" * 32,
                                       "environment": "prod", "status": "locked",
                                       "reason": "freeze", "operator": "carol",
                                       "ledger_head": {**HEAD, "ledger_id": "ledger-b"}})
    scan = OciRecordReader().scan(registry, ["v1.0.0-staging", "floe-prod-index", "nope"],
                                  ledger_id="ledger-a")
    assert sorted(r.digest for r in scan.records) == sorted([theirs, lock])
    promotion = next(r for r in scan.records if r.kind == "promotion")
    assert (promotion.version, promotion.environment, promotion.operator) == (
        "v1.0.0", "staging", "alice")
    assert promotion.ledger_id == "ledger-b" and promotion.subject_digest == artifact.digest
    frozen = next(r for r in scan.records if r.kind == "lock")
    assert (frozen.environment, frozen.status, frozen.reason) == ("prod", "locked", "freeze")
    assert scan.rejected == []
    # 3 tags resolved, 1 referrers list, 2 records of 2 requests each.
    assert scan.round_trips == 3 + 1 + 2 * 2
    # Known records and this ledger's own are not fetched again.
    again = OciRecordReader().scan(registry, ["v1.0.0-staging", "floe-prod-index"],
                                   known={theirs, lock}, ledger_id="ledger-a")
    assert again.records == [] and again.round_trips == 2 + 1
    mine = OciRecordReader().scan(registry, ["v1.0.0-staging"], ledger_id="ledger-b")
    assert mine.records == [] and mine.round_trips == 2


def test_an_edited_record_and_one_without_a_ledger_id_are_refused(registry: Registry,
                                                                  tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0-staging")
    writer = OciRecordWriter()
    genuine = writer.write(registry, artifact.digest, _promotion("ledger-b"))
    legacy = writer.write(registry, artifact.digest, {**_promotion("x"), "promotion_id":
                                                      "1" * 32, "ledger_head": HEAD})
    # Someone with push rights rewrites the operator in a copy of the genuine record.
    doc = json.loads(registry.get_manifest(str(genuine)).data)
    content = json.loads(registry.get_blob(doc["layers"][0]["digest"]))
    layer = json.dumps({**content, "operator": "mallory"}).encode()
    doc["layers"][0].update(digest=registry.put_blob(layer), size=len(layer))
    data = json.dumps(doc).encode()
    edited = Manifest(sha256_digest(data), doc["mediaType"], data)
    registry.attach_referrer(artifact.digest, edited, doc["artifactType"])
    scan = OciRecordReader().scan(registry, ["v1.0.0-staging"], ledger_id="ledger-a")
    assert [r.digest for r in scan.records] == [genuine]
    reasons = {r.digest: r.reason for r in scan.rejected}
    assert "edited after it was written" in reasons[edited.digest]
    assert "mallory" in reasons[edited.digest]
    assert "no ledger id" in reasons[str(legacy)]

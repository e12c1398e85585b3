"""Promotion records in a real registry: referrers of the promoted digest, never an edit of it.

Runs against the session's docker-registry (no referrers API: the sha256-<hex> fallback
index) and an OCI image layout, with a real SQLite ledger and the real promotion flow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.audit.events import raw_events
from floe_ledger.adapters.records import (
    ARTIFACT_TYPES,
    OciRecordWriter,
    list_records,
    read_record,
)
from floe_ledger.adapters.records.listed import env_records
from floe_ledger.adapters.registry import push_files
from floe_ledger.adapters.registry._common import fallback_tag
from floe_ledger.adapters.registry.artifacts import EMPTY_DESCRIPTOR
from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.system.clock import SystemClock
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest, sha256_digest, sorted_json
from floe_ledger.domain.services.ports import Registry
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest
from floe_ledger.projections.audit import Anchor, check_anchors, verify_chain

SIGSTORE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PROMOTION = ARTIFACT_TYPES["promotion"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStoreLedger]:
    opened = EventStoreLedger(ledger_location(None, tmp_path))
    yield opened
    opened.close()


def _push(registry: Registry, tmp_path: Path, version: str) -> Manifest:
    path = tmp_path / f"{version}.yaml"
    path.write_text(f"release: {version}\n")
    return push_files(registry, [path], version)


def _foreign_referrer(registry: Registry, subject: Manifest) -> str:
    """A cosign-style bundle referrer, written before floe touches the index."""
    layer = b'{"bundle": "not ours"}'
    registry.put_blob(b"{}")
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SIGSTORE,
           "config": EMPTY_DESCRIPTOR,
           "layers": [{"mediaType": SIGSTORE, "digest": registry.put_blob(layer, SIGSTORE),
                       "size": len(layer)}],
           "subject": {"mediaType": subject.media_type, "digest": subject.digest,
                       "size": len(subject.data)}}
    data = sorted_json(doc)
    registry.attach_referrer(subject.digest, Manifest(sha256_digest(data), OCI_MANIFEST, data),
                             SIGSTORE)
    return sha256_digest(data)


def _service(store: EventStoreLedger, registry: Registry) -> PromotionService:
    return PromotionService(store=store, registry=registry, repository=registry.uri,
                            config=PromotionConfig(), records=OciRecordWriter(),
                            clock=SystemClock())


@pytest.mark.requirement("FR-023", "FR-025a", "FR-027", "SC-003")
def test_a_promotion_writes_its_record_as_a_referrer_and_leaves_the_artifact_alone(
        registry: Registry, store: EventStoreLedger, tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0")
    foreign = _foreign_referrer(registry, artifact)
    service = _service(store, registry)
    result = service.promote(PromoteRequest("v1.0.0", None, "dev"), Actor("alice", "t" * 32))
    assert result.record_digest is not None
    # The artifact itself is untouched: same bytes, same digest, under every tag.
    assert registry.get_manifest(artifact.digest).data == artifact.data
    for tag in ("v1.0.0", "v1.0.0-dev", "latest-dev"):
        found = registry.resolve(tag)
        assert found is not None and found.digest == artifact.digest
    # Listed through the referrers fallback index, next to the entry another tool wrote.
    listed = {d.digest: d.artifact_type for d in registry.referrers(artifact.digest)}
    assert listed == {foreign: SIGSTORE, result.record_digest: PROMOTION}
    # No tag of its own: the fallback index (tagged) keeps it from garbage collection, and
    # floe's only other tag is the environment's index (this ledger's head anchor there).
    assert sorted(registry.list_tags()) == sorted(
        ["v1.0.0", "v1.0.0-dev", "latest-dev", fallback_tag(artifact.digest), "floe-dev-index"])
    # The record holds the FR-027 fields; the ledger points back at it.
    record = read_record(registry, result.record_digest)
    assert record["promotion_id"] == result.promotion_id
    assert record["artifact_digest"] == artifact.digest
    assert (record["source_environment"], record["target_environment"]) == (None, "dev")
    assert record["operator"] == "alice" and record["timestamp"]
    assert record["signature_status"] == "skipped" and record["gate_results"] == []
    completed = [e for _, e in store.notifications(1, 100) if e.kind == "PromotionCompleted"]
    assert completed[0].record_digest == result.record_digest  # type: ignore[attr-defined]


@pytest.mark.requirement("FR-023", "FR-026")
def test_the_records_ledger_head_anchors_the_ledger(
        registry: Registry, store: EventStoreLedger, tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0")
    service = _service(store, registry)
    service.promote(PromoteRequest("v1.0.0", None, "dev"), Actor("alice"))
    service.promote(PromoteRequest("v1.0.0", "dev", "staging"), Actor("bob"))
    records = list_records(registry, artifact.digest)
    assert [r.kind for r in records] == ["promotion", "promotion"]
    report = verify_chain(raw_events(store))
    anchors = []
    for rec in records:
        assert rec.ledger_head is not None
        aid, version, digest = rec.ledger_head
        assert report.streams[aid].hashes[version] == digest
        anchors.append(Anchor(aid, version, digest, rec.digest))
    assert check_anchors(report, anchors) == []
    newest = max(anchors, key=lambda a: a.version)
    short = verify_chain(r for r in raw_events(store) if r.version < newest.version)
    assert [b.reason for b in check_anchors(short, anchors)] == ["truncated"]


@pytest.mark.requirement("FR-026")
def test_writing_a_record_again_returns_the_first_one(registry: Registry, tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0")
    writer = OciRecordWriter()
    record = {"promotion_id": "0f8e7d6c-5b4a-4321-8765-0123456789ab", "operator": "alice",
              "target_environment": "dev"}
    first = writer.write(registry, artifact.digest, record)
    again = writer.write(registry, artifact.digest, dict(record, operator="mallory"))
    assert first == again
    assert len(list_records(registry, artifact.digest)) == 1


@pytest.mark.requirement("FR-023", "ANN-07", "ANN-12")
def test_rollback_and_lock_records_and_discovery_without_a_tag_each(registry: Registry,
                                                        tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0")
    writer = OciRecordWriter()
    rollback = writer.write(registry, artifact.digest, {
        "kind": "rollback", "rollback_id": "9a8b7c6d-0000-4000-8000-000000000001",
        "environment": "prod", "version": "v1.0.0", "reason": "bad config",
        "previous_digest": "sha256:" + "2" * 64, "operator": "bob"})
    lock = writer.write(registry, artifact.digest, {
        "kind": "lock", "environment": "prod", "status": "locked", "reason": "freeze",
        "operator": "carol"})
    # A lock on an environment that runs nothing still leaves a record, found through the
    # environment's index (the only tag it adds).
    empty = writer.write(registry, "", {"kind": "lock", "environment": "qa"})
    assert empty is not None and registry.resolve(empty) is not None
    by_kind = {r.kind: r for r in list_records(registry, artifact.digest)}
    assert by_kind["rollback"].digest == rollback
    assert by_kind["rollback"].annotations["dev.floe.rollback.reason"] == "bad config"
    assert by_kind["lock"].digest == lock
    assert by_kind["lock"].annotations["dev.floe.lock.locked-by"] == "carol"
    listed = {r.digest: r for r in env_records(registry, ["prod", "qa", "dev"])}
    assert set(listed) == {lock, empty}
    assert {r.subject for r in listed.values()} == {artifact.digest, ""}
    assert {r.tag for r in listed.values()} == {"floe-prod-index", "floe-qa-index"}
    assert not [t for t in registry.list_tags() if t.startswith("floe-") and t not in (
        "floe-prod-index", "floe-qa-index")]
    manifest = json.loads(registry.get_manifest(str(rollback)).data)
    assert manifest["artifactType"] == ARTIFACT_TYPES["rollback"]
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert manifest["subject"]["digest"] == artifact.digest
    assert manifest["layers"][0]["mediaType"] == ARTIFACT_TYPES["rollback"]

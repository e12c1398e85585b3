"""One contract for every Registry adapter: a real docker-registry and an image layout.

Each test runs twice: against DistributionRegistry talking to the session's real
CNCF distribution registry on 127.0.0.1, and against LayoutRegistry on tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import pull_files, push_files
from floe_ledger.adapters.registry.artifacts import EMPTY_DESCRIPTOR
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError, UsageError
from floe_ledger.domain.model.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    sha256_digest,
    sorted_json,
)
from floe_ledger.domain.services.ports import Registry

RECORD_TYPE = "application/vnd.floe.promotion.v1+json"
SIGSTORE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


@pytest.fixture
def bundle(tmp_path: Path) -> list[Path]:
    """Two small files to push as an artifact."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "compiled.json").write_text('{"platform": "floe", "n": 1}\n')
    (folder / "values.yaml").write_bytes(b"replicas: 3\n\x00\xff binary tail")
    return sorted(folder.iterdir())


def _referrer(registry: Registry, subject: Descriptor, artifact_type: str, note: str) -> Manifest:
    """A referrer manifest (empty config, one JSON layer) whose subject is ``subject``."""
    layer = json.dumps({"note": note}).encode()
    registry.put_blob(b"{}")
    layer_digest = registry.put_blob(layer, "application/json")
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": EMPTY_DESCRIPTOR,
        "layers": [{"mediaType": "application/json", "digest": layer_digest, "size": len(layer)}],
        "subject": {"mediaType": subject.media_type, "digest": subject.digest,
                    "size": subject.size},
        "annotations": {"floe.promotion.env": note},
    }
    data = sorted_json(doc)
    return Manifest(sha256_digest(data), OCI_MANIFEST, data)


@pytest.mark.requirement("FR-002")
def test_pushed_files_resolve_to_the_manifest_digest(
    registry: Registry, bundle: list[Path]
) -> None:
    manifest = push_files(registry, bundle, "v1.2.3-dev")

    found = registry.resolve("v1.2.3-dev")

    assert found == Descriptor(OCI_MANIFEST, manifest.digest, len(manifest.data))
    assert registry.resolve(manifest.digest) == found


@pytest.mark.requirement("FR-002")
def test_get_manifest_returns_the_exact_bytes_by_tag_and_by_digest(
    registry: Registry, bundle: list[Path]
) -> None:
    manifest = push_files(registry, bundle, "v1.2.3-dev", annotations={"a": "b"})

    assert registry.get_manifest("v1.2.3-dev") == manifest
    assert registry.get_manifest(manifest.digest).data == manifest.data
    assert json.loads(manifest.data)["annotations"]["a"] == "b"


@pytest.mark.requirement("FR-002", "FR-003")
def test_copying_a_manifest_to_new_tags_keeps_bytes_and_digest(
    registry: Registry, bundle: list[Path]
) -> None:
    # The promote path: 1 GET of the source, 1 PUT per target tag.
    source = registry.get_manifest(push_files(registry, bundle, "v1.2.3-dev").digest)

    assert registry.put_manifest("v1.2.3-staging", source) == source.digest
    assert registry.put_manifest("latest-staging", source) == source.digest

    for tag in ("v1.2.3-staging", "latest-staging"):
        copied = registry.get_manifest(tag)
        assert copied.data == source.data
        assert copied.digest == source.digest
        assert copied.media_type == source.media_type


@pytest.mark.requirement("FR-003")
def test_latest_tag_moves_to_another_digest(registry: Registry, bundle: list[Path]) -> None:
    first = push_files(registry, bundle[:1], "v1.0.0-dev")
    second = push_files(registry, bundle[1:], "v1.1.0-dev")
    registry.put_manifest("latest-staging", first)

    registry.put_manifest("latest-staging", second)

    resolved = registry.resolve("latest-staging")
    assert resolved is not None and resolved.digest == second.digest
    assert registry.resolve("v1.0.0-dev") == first.descriptor


@pytest.mark.requirement("NFR-004")
def test_putting_the_same_tag_twice_is_idempotent(registry: Registry, bundle: list[Path]) -> None:
    manifest = push_files(registry, bundle, "v1.2.3-dev")

    registry.put_manifest("v1.2.3-staging", manifest)
    registry.put_manifest("v1.2.3-staging", manifest)

    assert sorted(registry.list_tags()) == ["v1.2.3-dev", "v1.2.3-staging"]
    assert registry.get_manifest("v1.2.3-staging") == manifest


@pytest.mark.requirement("FR-002")
def test_list_tags_of_an_empty_repository_is_empty(registry: Registry) -> None:
    assert registry.list_tags() == []


@pytest.mark.requirement("EDGE-01")
def test_a_missing_tag_resolves_to_none_and_get_raises_not_found(registry: Registry) -> None:
    assert registry.resolve("v9.9.9-dev") is None

    with pytest.raises(NotFoundError) as caught:
        registry.get_manifest("v9.9.9-dev")

    assert "v9.9.9-dev" in caught.value.message
    assert registry.uri in caught.value.message
    assert caught.value.hint


@pytest.mark.requirement("FR-002")
def test_blobs_round_trip_and_are_idempotent(registry: Registry) -> None:
    data = b"\x00blob bytes\xff" * 100

    digest = registry.put_blob(data)

    assert digest == sha256_digest(data)
    assert registry.put_blob(data) == digest
    assert registry.get_blob(digest) == data
    with pytest.raises(NotFoundError):
        registry.get_blob(sha256_digest(b"never uploaded"))


@pytest.mark.requirement("FR-002")
def test_pull_files_writes_each_layer_under_its_title(
    registry: Registry, bundle: list[Path], tmp_path: Path
) -> None:
    push_files(registry, bundle, "v1.2.3-dev")

    pulled = pull_files(registry, "v1.2.3-dev", tmp_path / "out")

    assert [p.name for p in pulled] == [p.name for p in bundle]
    assert [p.read_bytes() for p in pulled] == [p.read_bytes() for p in bundle]


@pytest.mark.requirement("FR-002")
def test_a_manifest_whose_digest_does_not_match_its_bytes_is_refused(registry: Registry) -> None:
    registry.put_blob(b"{}")
    data = sorted_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                        "config": EMPTY_DESCRIPTOR, "layers": []})

    with pytest.raises(IntegrityError):
        registry.put_manifest("bad", Manifest(sha256_digest(b"other"), OCI_MANIFEST, data))
    with pytest.raises(UsageError):
        registry.resolve("not a tag!")


@pytest.mark.requirement("FR-023", "FR-025a")
def test_attached_referrers_are_listed_and_filtered_by_artifact_type(
    registry: Registry, bundle: list[Path]
) -> None:
    subject = push_files(registry, bundle, "v1.2.3-dev").descriptor
    record = _referrer(registry, subject, RECORD_TYPE, "staging")
    other = _referrer(registry, subject, SIGSTORE_TYPE, "signature")

    registry.attach_referrer(subject.digest, record, RECORD_TYPE)
    registry.attach_referrer(subject.digest, other, SIGSTORE_TYPE)

    assert {d.digest for d in registry.referrers(subject.digest)} == {record.digest, other.digest}
    [found] = registry.referrers(subject.digest, RECORD_TYPE)
    assert found.digest == record.digest
    assert found.artifact_type == RECORD_TYPE
    assert found.size == len(record.data)
    assert found.annotations == {"floe.promotion.env": "staging"}
    # The subject itself is untouched: its digest is still what the tag names.
    assert registry.resolve("v1.2.3-dev") == subject
    assert registry.get_manifest(record.digest) == record


@pytest.mark.requirement("NFR-004")
def test_attaching_the_same_referrer_twice_lists_it_once(
    registry: Registry, bundle: list[Path]
) -> None:
    subject = push_files(registry, bundle, "v1.2.3-dev").descriptor
    record = _referrer(registry, subject, RECORD_TYPE, "staging")

    registry.attach_referrer(subject.digest, record, RECORD_TYPE)
    registry.attach_referrer(subject.digest, record, RECORD_TYPE)

    assert [d.digest for d in registry.referrers(subject.digest)] == [record.digest]


@pytest.mark.requirement("FR-025a")
def test_foreign_entries_in_the_fallback_index_are_kept(
    registry: Registry, bundle: list[Path]
) -> None:
    # Another tool (cosign v3) already listed its signature in sha256-<hex>.
    subject = push_files(registry, bundle, "v1.2.3-dev").descriptor
    foreign = _referrer(registry, subject, SIGSTORE_TYPE, "cosign")
    registry.put_manifest(foreign.digest, foreign)
    foreign_entry = {"mediaType": OCI_MANIFEST, "digest": foreign.digest,
                     "size": len(foreign.data), "artifactType": SIGSTORE_TYPE,
                     "annotations": {"dev.sigstore.bundle.content": "message-signature"},
                     "x-other-tool": "kept verbatim"}
    index = sorted_json({"schemaVersion": 2, "mediaType": OCI_INDEX,
                         "manifests": [foreign_entry]})
    fallback = "sha256-" + subject.digest.removeprefix("sha256:")
    registry.put_manifest(fallback, Manifest(sha256_digest(index), OCI_INDEX, index))
    record = _referrer(registry, subject, RECORD_TYPE, "staging")

    registry.attach_referrer(subject.digest, record, RECORD_TYPE)

    listed = registry.referrers(subject.digest)
    assert [d.digest for d in listed] == [foreign.digest, record.digest]
    # Neither registry has a referrers API: the foreign entry is still there, verbatim.
    entries = json.loads(registry.get_manifest(fallback).data)["manifests"]
    assert entries[0] == foreign_entry

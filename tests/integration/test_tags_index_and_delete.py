"""floe's tags in real registries: one ``floe-<env>-index`` index per environment however many
records and ledgers; deleting a tag alone (or refusing to, saying why); and a tag the
registry protects as immutable, named in the error.

docker-registry 2.8 (no referrers API, deletes manifests by digest only), an OCI image
layout, and the fake registry for what 2.8 cannot do (the referrers API, the spec's tag
deletion, immutability rules).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.records import OciRecordWriter
from floe_ledger.adapters.records.environment import MAX_ANCHORS, read_env_index
from floe_ledger.adapters.records.listed import env_records, head_records
from floe_ledger.adapters.registry import RegistrySettings, open_registry, push_files
from floe_ledger.domain.model.errors import TagDeleteUnsupportedError, TagImmutableError
from floe_ledger.domain.model.oci import Manifest
from floe_ledger.domain.services.ports import Registry
from support.fake_registry import FakeRegistry

HEAD = {"artifact_id": "a", "version": 3, "hash": "f" * 64}


def _push(registry: Registry, tmp_path: Path, tag: str) -> Manifest:
    path = tmp_path / f"{tag}.yaml"
    path.write_text(f"release: {tag}\n")
    return push_files(registry, [path], tag)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeRegistry, Registry]]:
    with FakeRegistry() as server:
        registry = open_registry(RegistrySettings(uri=server.uri("acme/app"), plain_http=True),
                                 base_dir=tmp_path, env={"DOCKER_CONFIG": str(tmp_path)})
        yield server, registry
        registry.close()


@pytest.mark.requirement("FR-023", "FR-026", "FR-035")
def test_many_ledgers_and_records_leave_one_floe_tag_per_environment(
        registry: Registry, tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0")
    writer = OciRecordWriter()
    for n in range(3):
        writer.write(registry, artifact.digest, {
            "kind": "promotion", "promotion_id": f"{n:032x}", "version": "v1.0.0",
            "target_environment": "dev", "operator": "ci", "ledger_head": HEAD})
    for n in range(MAX_ANCHORS + 4):  # more ledgers than an index keeps
        head = {**HEAD, "version": n + 1, "ledger_id": f"ledger-{n:02d}"}
        writer.write(registry, "", {"kind": "head", "ledger_head": head,
                                    "anchored_at": f"2026-11-01T10:{n:02d}:00+00:00",
                                    "environments": ["dev", "prod"]})
    writer.write(registry, "", {"kind": "lock", "environment": "prod", "status": "locked",
                                "operator": "carol", "locked_at": "2026-11-01T11:00:00+00:00"})
    unlock = writer.write(registry, artifact.digest, {
        "kind": "lock", "environment": "prod", "status": "unlocked", "operator": "carol",
        "locked_at": "2026-11-01T11:30:00+00:00"})
    floe_tags = sorted(t for t in registry.list_tags() if t.startswith("floe-"))
    assert floe_tags == ["floe-dev-index", "floe-prod-index"]
    dev = read_env_index(registry, "dev")
    assert dev.lock is None and len(dev.anchors) == MAX_ANCHORS
    kept = {a.annotations["dev.floe.ledger.id"] for a in dev.anchors}
    assert kept == {f"ledger-{n:02d}" for n in range(4, MAX_ANCHORS + 4)}  # the newest
    # The newest lock state of prod is found without a tag of its own; it is also a
    # referrer of what runs there.
    [lock] = env_records(registry, ["dev", "prod"])
    assert lock.digest == unlock and lock.annotations["dev.floe.lock.status"] == "unlocked"
    [anchor] = head_records(registry, "ledger-19", ["dev", "prod"])[:1]
    assert anchor.ledger_head == ("a", 20, "f" * 64) and anchor.tag == "floe-dev-index"
    assert head_records(registry, "ledger-00", ["dev", "prod"]) == []  # pushed out


@pytest.mark.requirement("ADJ-07")
def test_deleting_a_tag_leaves_the_manifest_and_its_other_tags(
        registry: Registry, tmp_path: Path) -> None:
    artifact = _push(registry, tmp_path, "v1.0.0")
    registry.put_manifest("v1.0.0-dev", artifact)
    if registry.uri.startswith("oci-layout:"):
        assert registry.delete_tag("v1.0.0-dev") is True
        assert registry.resolve("v1.0.0-dev") is None
        assert registry.delete_tag("v1.0.0-dev") is False
    else:
        # docker-registry 2.8 deletes manifests by digest only (every tag with them): floe
        # never does that, and says the tag cannot be deleted on its own.
        with pytest.raises(TagDeleteUnsupportedError) as err:
            registry.delete_tag("v1.0.0-dev")
        assert err.value.exit_code == 2 and err.value.details["tag"] == "v1.0.0-dev"
        assert "DIGEST_INVALID" in err.value.message and "nothing was deleted" in err.value.message
        assert "deletes manifests by digest only" in err.value.hint
        assert registry.resolve("v1.0.0-dev") is not None
    found = registry.resolve("v1.0.0")
    assert found is not None and found.digest == artifact.digest
    assert registry.get_manifest(artifact.digest).data == artifact.data


@pytest.mark.requirement("ADJ-07")
def test_a_registry_with_the_spec_tag_delete_removes_the_tag_alone(
        fake: tuple[FakeRegistry, Registry], tmp_path: Path) -> None:
    server, registry = fake
    artifact = _push(registry, tmp_path, "v1.0.0")
    registry.put_manifest("v1.0.0-dev", artifact)
    assert registry.delete_tag("v1.0.0-dev") is True
    assert sorted(registry.list_tags()) == ["v1.0.0"]
    assert registry.delete_tag("v1.0.0-dev") is False
    assert ("DELETE", "/v2/acme/app/manifests/v1.0.0-dev") in server.requests
    assert not [p for m, p in server.requests if m == "DELETE" and "sha256:" in p]
    server.tag_delete = False  # now answer as distribution 2.8 does
    registry.put_manifest("v1.0.0-dev", artifact)
    with pytest.raises(TagDeleteUnsupportedError):
        registry.delete_tag("v1.0.0-dev")
    assert registry.resolve("v1.0.0-dev") is not None


@pytest.mark.requirement("EXIT-10", "TAG-06")
@pytest.mark.parametrize(("status", "code", "message"), [
    (400, "TAG_INVALID", "The image tag 'latest-dev' already exists in the 'acme/app' "
     "repository and cannot be overwritten because the repository is immutable."),  # ECR
    (412, "PRECONDITION", "Failed to process request due to 'acme/app:latest-dev' configured "
     "as immutable."),  # Harbor
    (409, "", ""),
])
def test_a_tag_the_registry_protects_is_refused_by_name_with_the_way_out(
        fake: tuple[FakeRegistry, Registry], tmp_path: Path, status: int, code: str,
        message: str) -> None:
    server, registry = fake
    first = _push(registry, tmp_path, "v1.0.0")
    second = _push(registry, tmp_path, "v1.1.0")
    registry.put_manifest("latest-dev", first)
    server.protect_tags(r"latest-.*", status, code, message)
    registry.put_manifest("latest-dev", first)  # naming the same digest is not a move
    with pytest.raises(TagImmutableError) as err:
        registry.put_manifest("latest-dev", second)
    assert err.value.exit_code == 10 and err.value.code == "tag_immutable"
    assert "refused to move tag latest-dev" in err.value.message
    assert err.value.details["tag"] == "latest-dev"
    assert "exclude those from the registry's tag-immutability rule" in err.value.hint
    assert "docs/exit-codes.md" in err.value.hint

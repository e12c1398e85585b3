"""LayoutRegistry on real directories: the on-disk format, exact bytes, and concurrent
writers in separate processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import (
    LayoutRegistry,
    RegistryLocation,
    RegistrySettings,
    open_registry,
    pull_files,
    push_files,
)
from floe_ledger.adapters.registry.artifacts import EMPTY_DESCRIPTOR
from floe_ledger.domain.model.errors import IntegrityError, UsageError
from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest, sha256_digest, sorted_json

REF_NAME = "org.opencontainers.image.ref.name"


def sample(tmp_path: Path) -> list[Path]:
    path = tmp_path / "bundle.json"
    path.write_text('{"hello": "world"}')
    return [path]


@pytest.mark.requirement("CFG-01")
def test_oci_layout_uris_resolve_relative_to_the_base_dir(tmp_path: Path) -> None:
    location = RegistryLocation.parse("oci-layout:./artifacts/../store", base_dir=tmp_path)
    registry = open_registry(RegistrySettings(uri="oci-layout:store"), base_dir=tmp_path, env={})

    assert location.is_layout and location.path == tmp_path / "store"
    assert isinstance(registry, LayoutRegistry) and registry.path == tmp_path / "store"
    assert registry.uri == f"oci-layout:{tmp_path / 'store'}"
    assert RegistryLocation.parse("oci-layout:/abs/dir", base_dir=tmp_path).path == Path("/abs/dir")


@pytest.mark.requirement("FR-002")
def test_reading_a_missing_directory_finds_nothing_and_creates_nothing(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "absent")

    assert registry.resolve("v1.0.0-dev") is None
    assert registry.list_tags() == []
    assert registry.referrers(sha256_digest(b"x")) == []
    assert registry.authenticated_user() is None
    assert not (tmp_path / "absent").exists()


@pytest.mark.requirement("FR-002")
def test_the_first_write_creates_a_valid_image_layout(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    manifest = push_files(LayoutRegistry(root), sample(tmp_path), "v1.0.0-dev")

    assert (root / "oci-layout").read_bytes() == b'{"imageLayoutVersion":"1.0.0"}'
    index = json.loads((root / "index.json").read_text())
    assert index["schemaVersion"] == 2
    assert index["manifests"] == [{
        "mediaType": OCI_MANIFEST, "digest": manifest.digest, "size": len(manifest.data),
        "annotations": {REF_NAME: "v1.0.0-dev"},
    }]
    blob = root / "blobs" / "sha256" / manifest.digest.removeprefix("sha256:")
    assert blob.read_bytes() == manifest.data
    assert not list(root.rglob(".*.*"))  # no temp files left behind


@pytest.mark.requirement("FR-002", "FR-003")
def test_non_canonical_manifest_bytes_are_stored_exactly(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")
    registry.put_blob(b"{}")
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": EMPTY_DESCRIPTOR, "layers": []}, indent=3).encode() + b"\n\n"
    manifest = Manifest(sha256_digest(data), OCI_MANIFEST, data)

    registry.put_manifest("v1.0.0-dev", manifest)
    registry.put_manifest("latest-dev", registry.get_manifest("v1.0.0-dev"))

    assert registry.get_manifest("latest-dev").data == data
    assert registry.resolve("latest-dev") == manifest.descriptor


@pytest.mark.requirement("FR-003")
def test_moving_a_tag_replaces_its_single_index_entry(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")
    first = push_files(registry, sample(tmp_path), "v1.0.0-dev", annotations={"n": "1"})
    second = push_files(registry, sample(tmp_path), "v1.1.0-dev", annotations={"n": "2"})

    registry.put_manifest("latest-dev", first)
    registry.put_manifest("latest-dev", second)

    index = json.loads((tmp_path / "layout" / "index.json").read_text())
    named = [e for e in index["manifests"] if e["annotations"][REF_NAME] == "latest-dev"]
    assert [e["digest"] for e in named] == [second.digest]
    assert registry.list_tags() == ["v1.0.0-dev", "v1.1.0-dev", "latest-dev"]


@pytest.mark.requirement("FR-002")
def test_digests_that_are_not_sha256_never_become_paths(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")

    for bad in ("sha256:../../../etc/passwd", "md5:abc", "../x"):
        with pytest.raises(UsageError):
            registry.get_blob(bad)


@pytest.mark.requirement("FR-002")
def test_pull_refuses_layer_titles_that_escape_the_folder(tmp_path: Path) -> None:
    registry = LayoutRegistry(tmp_path / "layout")
    registry.put_blob(b"{}")
    digest = registry.put_blob(b"evil")
    layer = {"mediaType": "application/octet-stream", "digest": digest, "size": 4,
             "annotations": {"org.opencontainers.image.title": "../escape.sh"}}
    data = sorted_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                        "config": EMPTY_DESCRIPTOR, "layers": [layer]})
    registry.put_manifest("evil", Manifest(sha256_digest(data), OCI_MANIFEST, data))

    with pytest.raises(IntegrityError, match="escape"):
        pull_files(registry, "evil", tmp_path / "out")
    assert not (tmp_path / "escape.sh").exists()


WRITER = """
import sys
from pathlib import Path
from floe_ledger.adapters.registry import LayoutRegistry
from floe_ledger.domain.model.oci import sha256_digest, sorted_json
from floe_ledger.adapters.registry.artifacts import EMPTY_DESCRIPTOR
from floe_ledger.domain.model.oci import Manifest

root, worker, subject_digest = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
registry = LayoutRegistry(root)
subject = registry.resolve(subject_digest)
for n in range(8):
    registry.put_manifest(f"w{worker}-{n}", registry.get_manifest(subject_digest))
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "artifactType": "application/vnd.floe.promotion.v1+json",
           "config": EMPTY_DESCRIPTOR, "layers": [],
           "subject": {"mediaType": subject.media_type, "digest": subject.digest,
                       "size": subject.size},
           "annotations": {"who": f"{worker}-{n}"}}
    data = sorted_json(doc)
    registry.attach_referrer(subject.digest, Manifest(sha256_digest(data), doc["mediaType"], data),
                             doc["artifactType"])
"""


@pytest.mark.requirement("NFR-004", "FR-025a")
def test_concurrent_processes_lose_no_tags_and_no_referrers(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    registry = LayoutRegistry(root)
    subject = push_files(registry, sample(tmp_path), "v1.0.0-dev")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)

    workers = [
        subprocess.Popen([sys.executable, str(script), str(root), str(w), subject.digest])
        for w in range(4)
    ]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0, 0]

    tags = set(registry.list_tags())
    assert {f"w{w}-{n}" for w in range(4) for n in range(8)} <= tags
    found = registry.referrers(subject.digest, "application/vnd.floe.promotion.v1+json")
    assert sorted(d.annotations["who"] for d in found) == sorted(
        f"{w}-{n}" for w in range(4) for n in range(8)
    )

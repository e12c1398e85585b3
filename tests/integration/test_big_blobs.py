"""Big artifacts between real docker-registries: streamed, checked, bounded (issue 15 item 5).

Replica copies and ``artifact pull`` once read blobs whole into memory, refused past 64 MiB
(BLOB_MAX_BYTES). They now stream: an 80 MiB layer replicates and pulls with its digest; a
source whose bytes are altered or cut (tests/support/fault_proxy.py) is refused and nothing
is stored under the digest; an upload a registry refuses as too large goes in PATCH chunks;
no more blobs are in flight at once than the bound.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import DistributionRegistry, pull_files
from floe_ledger.adapters.registry.artifacts import EMPTY_DESCRIPTOR
from floe_ledger.adapters.replication import replicate_tags
from floe_ledger.adapters.replication.copy import BLOB_CONCURRENCY, copy_artifact
from floe_ledger.adapters.replication.sync import sync_replicas
from floe_ledger.domain.model.blobs import BlobStream
from floe_ledger.domain.model.errors import IntegrityError
from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest, sha256_digest, sorted_json
from support.fault_proxy import FaultProxy
from support.registry_server import RegistryServer, start_registry

pytestmark = pytest.mark.registry

MIB = 1024 * 1024
TITLE = "org.opencontainers.image.title"


@pytest.fixture(scope="module")
def replica_server() -> Iterator[RegistryServer]:
    """A second registry (another host: blobs travel, no cross-repository mount)."""
    server = start_registry()
    yield server
    server.cleanup()


def _open(server: RegistryServer | FaultProxy, repo: str) -> DistributionRegistry:
    return DistributionRegistry(server.host, repo, plain_http=True)


def _push(registry: DistributionRegistry, layers: list[bytes], tag: str = "v1") -> Manifest:
    """An artifact of ``layers`` (each streamed up), titled layer-<n>.bin."""
    entries = []
    for n, data in enumerate(layers):
        digest = sha256_digest(data)
        registry.put_blob_from(digest, len(data), lambda d=data, g=digest: BlobStream.of_bytes(
            d, g))
        entries.append({"mediaType": "application/octet-stream", "digest": digest,
                        "size": len(data), "annotations": {TITLE: f"layer-{n}.bin"}})
    registry.put_blob(b"{}")
    data = sorted_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                        "config": EMPTY_DESCRIPTOR, "layers": entries})
    manifest = Manifest(sha256_digest(data), OCI_MANIFEST, data)
    registry.put_manifest(tag, manifest)
    return manifest


def _sha256_of_stream(registry: DistributionRegistry, digest: str, size: int) -> str:
    hasher = hashlib.sha256()
    with registry.open_blob(digest, size) as chunks:
        for chunk in chunks:
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


@pytest.mark.requirement("FR-028", "FR-029", "SC-002")
def test_a_blob_larger_than_the_old_cap_replicates_and_pulls(
    registry_server: RegistryServer, replica_server: RegistryServer, repo_name: str,
    tmp_path: Path,
) -> None:
    big = os.urandom(80 * MIB)  # BLOB_MAX_BYTES was 64 MiB
    digest = sha256_digest(big)
    source, dest = _open(registry_server, repo_name), _open(replica_server, repo_name)
    manifest = _push(source, [big])

    [status] = sync_replicas(source, [dest], {"v1-prod": manifest.digest})  # platform sync

    assert status.ok, status.error
    assert status.stats.blobs_uploaded == 2 and status.stats.bytes_uploaded == len(big) + 2
    assert _sha256_of_stream(dest, digest, len(big)) == digest
    [pulled] = pull_files(dest, "v1-prod", tmp_path / "out")
    assert pulled.stat().st_size == len(big)
    assert "sha256:" + hashlib.sha256(pulled.read_bytes()).hexdigest() == digest


@pytest.mark.requirement("FR-029", "SC-002")
@pytest.mark.parametrize("fault", ["flip", "cut"])
def test_a_corrupted_source_stream_is_refused_and_nothing_is_stored(
    registry_server: RegistryServer, replica_server: RegistryServer, repo_name: str,
    tmp_path: Path, fault: str,
) -> None:
    layer = os.urandom(3 * MIB)
    digest = sha256_digest(layer)
    manifest = _push(_open(registry_server, repo_name), [layer])
    dest = _open(replica_server, repo_name)
    with FaultProxy(registry_server.host) as proxy:
        proxy.fault(fault, method="GET", path=f"/blobs/{digest}$", times=None)
        source = _open(proxy, repo_name)

        status = replicate_tags(source, dest, manifest.digest, ["v1-prod"])
        with pytest.raises(IntegrityError if fault == "flip" else Exception):
            pull_files(source, "v1", tmp_path / "out")

    assert not status.ok
    assert status.error and ("does not match" in status.error or "broke off" in status.error)
    assert not dest.has_blob(digest)
    assert dest.resolve("v1-prod") is None and dest.resolve(manifest.digest) is None
    assert not (tmp_path / "out" / "layer-0.bin").exists()
    assert not [p for p in (tmp_path / "out").iterdir()]  # no partial file either


@pytest.mark.requirement("FR-028")
def test_uploads_are_monolithic_where_the_registry_takes_them(
    replica_server: RegistryServer, repo_name: str,
) -> None:
    data = os.urandom(5 * MIB)
    digest = sha256_digest(data)
    with FaultProxy(replica_server.host) as proxy:
        _open(proxy, repo_name).put_blob_from(digest, len(data),
                                              lambda: BlobStream.of_bytes(data, digest))

        assert proxy.count(method="PUT", path="/blobs/uploads/") == 1
        assert proxy.count(method="PATCH") == 0
    assert _sha256_of_stream(_open(replica_server, repo_name), digest, len(data)) == digest


@pytest.mark.requirement("FR-028")
def test_a_refused_monolithic_upload_goes_in_chunks(
    replica_server: RegistryServer, repo_name: str,
) -> None:
    data = os.urandom(40 * MIB)
    digest = sha256_digest(data)
    with FaultProxy(replica_server.host, max_body=20 * MIB) as proxy:  # 413 past 20 MiB
        stored = _open(proxy, repo_name).put_blob_from(
            digest, len(data), lambda: BlobStream.of_bytes(data, digest))

        assert stored == digest
        assert proxy.count(method="PATCH", path="/blobs/uploads/") == 3  # 16 + 16 + 8 MiB
    assert _sha256_of_stream(_open(replica_server, repo_name), digest, len(data)) == digest


@pytest.mark.requirement("FR-028", "NFR-004")
def test_an_upload_cut_off_starts_the_blob_over(
    replica_server: RegistryServer, repo_name: str,
) -> None:
    data = os.urandom(2 * MIB)
    digest = sha256_digest(data)
    opened = []

    def opener() -> BlobStream:
        opened.append(1)
        return BlobStream.of_bytes(data, digest)

    with FaultProxy(replica_server.host) as proxy:
        proxy.fault("down", method="PUT", path="/blobs/uploads/")
        assert _open(proxy, repo_name).put_blob_from(digest, len(data), opener) == digest

        assert proxy.count(method="PUT", path="/blobs/uploads/") == 2
    assert len(opened) == 2  # a one-shot body: the second attempt streams it afresh
    assert _sha256_of_stream(_open(replica_server, repo_name), digest, len(data)) == digest


class _Gated(DistributionRegistry):
    """The real registry, counting the blob streams open at once; the first ``gate`` opens
    wait for each other (a bound lower than ``gate`` breaks the barrier: the test fails)."""

    def __init__(self, host: str, repo: str, gate: int) -> None:
        super().__init__(host, repo, plain_http=True)
        self.barrier = threading.Barrier(gate, timeout=60)
        self.lock = threading.Lock()
        self.open_now = self.opened = self.peak = 0

    def open_blob(self, digest: str, size: int) -> BlobStream:
        with self.lock:
            self.open_now += 1
            self.opened += 1
            self.peak = max(self.peak, self.open_now)
            first = self.opened <= self.barrier.parties
        if first:
            self.barrier.wait()
        stream = super().open_blob(digest, size)
        return BlobStream(digest, size, iter(stream), what=stream.what,
                          close=lambda: self._closed(stream))

    def _closed(self, stream: BlobStream) -> None:
        stream.close()
        with self.lock:
            self.open_now -= 1


@pytest.mark.requirement("FR-028")
def test_blob_copies_and_pulls_stay_within_the_concurrency_bound(
    registry_server: RegistryServer, replica_server: RegistryServer, repo_name: str,
    tmp_path: Path,
) -> None:
    layers = [os.urandom(256 * 1024) + bytes([n]) for n in range(10)]
    manifest = _push(_open(registry_server, repo_name), layers)
    source = _Gated(registry_server.host, repo_name, BLOB_CONCURRENCY)

    stats = copy_artifact(source, _open(replica_server, repo_name), manifest.digest)

    assert stats.blobs_uploaded == 11  # ten layers and the config
    assert source.peak == BLOB_CONCURRENCY  # all the bound allows, never more
    puller = _Gated(registry_server.host, repo_name, 4)
    pulled = pull_files(puller, "v1", tmp_path / "out")
    assert [p.read_bytes() for p in pulled] == layers
    assert puller.peak == 4


@pytest.mark.requirement("NFR-004")
def test_a_pull_whose_body_is_cut_once_starts_the_layer_over(
    registry_server: RegistryServer, repo_name: str, tmp_path: Path,
) -> None:
    layer = os.urandom(3 * MIB)
    _push(_open(registry_server, repo_name), [layer])
    with FaultProxy(registry_server.host) as proxy:
        proxy.fault("cut", method="GET", path=f"/blobs/{sha256_digest(layer)}$")

        [pulled] = pull_files(_open(proxy, repo_name), "v1", tmp_path / "out")

        assert proxy.count(method="GET", path="/blobs/") == 2
    assert pulled.read_bytes() == layer

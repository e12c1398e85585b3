"""DistributionRegistry under faults, through the fault proxy in front of the real registry
(issue 13, item 1): Retry-After honoured within bounded retries, a lost answer to a blob
upload's PUT, a body cut mid-way never accepted, the configured timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry
from floe_ledger.adapters.registry._http import RETRY_AFTER_MAX_S
from floe_ledger.domain.model.errors import RegistryUnavailableError
from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest, sha256_digest, sorted_json
from floe_ledger.domain.services.ports import Registry
from support.fault_proxy import FaultProxy
from support.registry_server import RegistryServer

MANIFESTS = r"/manifests/"


@pytest.fixture
def proxy(registry_server: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry_server.host, delay=1.0) as running:
        yield running


class Pauses(list[float]):
    """The pauses the client asked for between attempts (none really taken)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def open_through(proxy: FaultProxy, repo: str, tmp_path: Path, pauses: Pauses,
                 timeout: float = 30.0) -> Registry:
    settings = RegistrySettings(uri=proxy.uri(repo), plain_http=True, timeout_seconds=timeout)
    return open_registry(settings, base_dir=tmp_path, env={"PATH": "/usr/bin:/bin"},
                         sleep=pauses)


def a_manifest(registry: Registry, note: str) -> Manifest:
    config = registry.put_blob(b"{}")
    data = sorted_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                   "digest": config, "size": 2},
                        "layers": [], "annotations": {"note": note * 200}})
    return Manifest(sha256_digest(data), OCI_MANIFEST, data)


@pytest.mark.requirement("NFR-004", "EDGE-03")
def test_a_single_429_is_retried_after_the_pause_it_asks_for(
        proxy: FaultProxy, repo_name: str, tmp_path: Path) -> None:
    pauses = Pauses()
    registry = open_through(proxy, repo_name, tmp_path, pauses)
    manifest = a_manifest(registry, "x")
    proxy.fault("429", method="PUT", path=MANIFESTS + "v1$")
    assert registry.put_manifest("v1", manifest) == manifest.digest
    assert pauses == [1.0]  # Retry-After: 1, longer than the first backoff (0.2 s)
    assert [s.status for s in proxy.requests(method="PUT", path="/manifests/v1$")] == [None, 201]


@pytest.mark.requirement("NFR-004", "EDGE-03")
def test_a_429_that_persists_ends_after_the_bounded_attempts_naming_the_rate_limit(
        proxy: FaultProxy, repo_name: str, tmp_path: Path) -> None:
    pauses = Pauses()
    registry = open_through(proxy, repo_name, tmp_path, pauses)
    proxy.fault("429", method="HEAD", times=None)
    with pytest.raises(RegistryUnavailableError) as caught:
        registry.resolve("v1")
    assert pauses == [1.0, 1.0]
    assert proxy.count(method="HEAD") == 3
    assert caught.value.details["rate_limited"] is True
    assert "rate-limiting" in caught.value.message and "rate limit" in caught.value.hint


@pytest.mark.requirement("NFR-004", "EDGE-03")
def test_a_retry_after_longer_than_floe_waits_ends_at_once(
        proxy: FaultProxy, repo_name: str, tmp_path: Path) -> None:
    pauses = Pauses()
    registry = open_through(proxy, repo_name, tmp_path, pauses)
    proxy.retry_after = int(RETRY_AFTER_MAX_S) + 1
    proxy.fault("429", method="HEAD", times=None)
    with pytest.raises(RegistryUnavailableError) as caught:
        registry.resolve("v1")
    assert pauses == [] and proxy.count(method="HEAD") == 1
    assert caught.value.details["retry_after"] == RETRY_AFTER_MAX_S + 1


@pytest.mark.requirement("NFR-004", "TXN-04")
@pytest.mark.parametrize("fault", ["timeout", "cut"])
def test_a_blob_upload_whose_answer_is_lost_is_done(
        fault: str, proxy: FaultProxy, repo_name: str, tmp_path: Path) -> None:
    """The PUT landed but its answer did not: the retried PUT finds the upload gone
    (BLOB_UPLOAD_UNKNOWN), and the blob is there, so the upload is done (a replica or
    record write used to fail here)."""
    registry = open_through(proxy, repo_name, tmp_path, Pauses(), timeout=0.5)
    proxy.fault(fault, method="PUT", path="/blobs/uploads/")
    data = f"blob for {fault}".encode()
    assert registry.put_blob(data) == sha256_digest(data)
    assert registry.get_blob(sha256_digest(data)) == data
    assert [s.fault or s.status for s in proxy.requests(method="PUT")] == [fault, 404]


@pytest.mark.requirement("EDGE-03")
def test_a_body_cut_mid_way_is_never_accepted(
        proxy: FaultProxy, repo_name: str, tmp_path: Path) -> None:
    registry = open_through(proxy, repo_name, tmp_path, Pauses())
    manifest = a_manifest(registry, "cut")
    registry.put_manifest("v1", manifest)
    proxy.fault("cut", method="GET", path=MANIFESTS + "v1$")  # once: the retry is whole
    assert registry.get_manifest("v1").data == manifest.data
    proxy.fault("cut", method="GET", path=MANIFESTS + "v1$", times=None)
    with pytest.raises(RegistryUnavailableError, match="RemoteProtocolError"):
        registry.get_manifest("v1")
    assert proxy.count(method="GET", path=MANIFESTS + "v1$") == 5


@pytest.mark.requirement("NFR-004", "EDGE-03")
def test_the_configured_timeout_bounds_a_request_that_gets_no_answer(
        proxy: FaultProxy, repo_name: str, tmp_path: Path) -> None:
    registry = open_through(proxy, repo_name, tmp_path, Pauses(), timeout=0.3)
    proxy.fault("timeout", method="HEAD", times=None)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailableError, match="ReadTimeout"):
        registry.resolve("v1")
    assert time.monotonic() - started < 3  # 3 attempts of 0.3 s, pauses not taken
    assert proxy.count(method="HEAD") == 3

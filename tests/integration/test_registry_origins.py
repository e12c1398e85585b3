"""Security review §8 and §18: registry credentials stay on the registry's origin and off
cleartext; hostile answers are size-capped. Every server is real, on 127.0.0.1; a second
port is a second origin, playing the attacker's collector."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry
from floe_ledger.adapters.registry._http import JSON_MAX_BYTES, MANIFEST_MAX_BYTES
from floe_ledger.adapters.registry.auth import Credentials
from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.domain.model.errors import (
    ConfigError,
    FloeError,
    RegistryUnavailableError,
    UnauthorizedError,
)
from floe_ledger.domain.model.oci import sha256_digest
from support.hostile_server import HostileServer

SECRET = "S3cretPW!"
BASIC = base64.b64encode(f"alice:{SECRET}".encode()).decode()
REPO = "acme/app"


def _registry(server: HostileServer) -> DistributionRegistry:
    return DistributionRegistry(server.host, REPO, credentials=_creds(),
                                plain_http=not server.tls,
                                ca_file=server.ca_file if server.tls else None)


def _creds() -> Credentials:
    return Credentials("alice", SECRET)


def _no_secret(err: FloeError) -> None:
    text = json.dumps(err.as_dict()) + str(err) + err.hint
    assert SECRET not in text and BASIC not in text


@pytest.mark.requirement("FR-045", "FR-032")
def test_basic_credentials_never_go_to_an_http_realm_of_an_https_registry() -> None:
    with HostileServer(tls=True) as registry, HostileServer() as collector:
        registry.challenge = f'Bearer realm="{collector.url("/token")}",service="reg"'
        with pytest.raises(UnauthorizedError) as caught:
            _registry(registry).resolve("v1.0.0")

        assert collector.seen == []  # before the fix: GET /token with Basic alice:S3cretPW!
        assert "https" in caught.value.message and caught.value.exit_code == 12
        _no_secret(caught.value)


@pytest.mark.requirement("FR-045", "FR-032")
def test_the_authorization_header_never_follows_an_upload_location_to_another_origin() -> None:
    with HostileServer() as registry, HostileServer() as collector:
        registry.challenge = 'Basic realm="reg"'
        registry.route("HEAD", f"/v2/{REPO}/blobs/", 404)
        registry.route("POST", f"/v2/{REPO}/blobs/uploads/", 202,
                       {"Location": collector.url("/upload/123")})
        with pytest.raises(RegistryUnavailableError) as caught:
            _registry(registry).put_blob(b"x: 1\n")

        assert collector.seen == []  # before the fix: PUT /upload/123 with the credentials
        assert registry.authorizations() and caught.value.exit_code == 5
        assert collector.url("/")[:-1] in caught.value.message
        _no_secret(caught.value)


@pytest.mark.requirement("FR-045", "FR-032")
def test_the_authorization_header_never_follows_a_link_page_to_another_origin() -> None:
    with HostileServer() as registry, HostileServer() as collector:
        registry.challenge = 'Basic realm="reg"'
        next_page = collector.url(f"/v2/{REPO}/tags/list?last=v1.0.0")
        registry.route("GET", f"/v2/{REPO}/tags/list", 200,
                       {"Content-Type": "application/json", "Link": f'<{next_page}>; rel="next"'},
                       json.dumps({"name": REPO, "tags": ["v1.0.0"]}).encode())
        with pytest.raises(RegistryUnavailableError) as caught:
            _registry(registry).list_tags()

        assert collector.seen == [] and caught.value.exit_code == 5
        _no_secret(caught.value)


@pytest.mark.requirement("FR-045")
def test_a_blob_redirect_to_another_origin_is_followed_without_credentials() -> None:
    data = b"layer bytes"
    digest = sha256_digest(data)
    with HostileServer() as registry, HostileServer() as storage:
        registry.challenge = 'Basic realm="reg"'
        registry.route("GET", f"/v2/{REPO}/blobs/{digest}", 307,
                       {"Location": storage.url("/bucket/blob")})
        storage.route("GET", "/bucket/blob", 200, {}, data)

        assert _registry(registry).get_blob(digest) == data
        assert [s.authorization for s in storage.seen] == [None]


@pytest.mark.requirement("CFG-01")
def test_plain_http_is_refused_off_loopback_unless_the_host_is_listed(tmp_path: Path) -> None:
    remote = RegistrySettings(uri="oci://registry.example.com/acme/app", plain_http=True)
    with pytest.raises(ConfigError) as caught:
        open_registry(remote, base_dir=tmp_path, env={})
    assert "artifacts.registry.plain_http" in caught.value.message
    assert "insecure_registries" in caught.value.hint and caught.value.exit_code == 2

    replica = RegistrySettings(uri="oci://10.0.0.7:5000/acme/app", plain_http=True,
                               key="artifacts.replicas.0")
    with pytest.raises(ConfigError, match=r"artifacts\.replicas\.0\.plain_http"):
        open_registry(replica, base_dir=tmp_path, env={})

    listed = RegistrySettings(uri="oci://registry.example.com/acme/app", plain_http=True,
                              insecure_registries=("registry.example.com",))
    assert open_registry(listed, base_dir=tmp_path, env={}).uri.startswith("oci://registry.")
    for loopback in ("127.0.0.1:5000", "localhost:5000", "[::1]:5000", "127.8.9.10"):
        settings = RegistrySettings(uri=f"oci://{loopback}/acme/app", plain_http=True)
        open_registry(settings, base_dir=tmp_path, env={})


@pytest.mark.requirement("FR-032")
@pytest.mark.parametrize("what", ["manifest", "token", "tag page", "referrers page"])
def test_an_oversized_answer_is_refused_with_exit_5(what: str) -> None:
    big = b"[" + b" " * (max(MANIFEST_MAX_BYTES, JSON_MAX_BYTES) + 10) + b"]"
    digest = "sha256:" + "a" * 64
    with HostileServer() as registry:
        reg = _registry(registry)
        if what == "manifest":
            registry.route("GET", f"/v2/{REPO}/manifests/", 200,
                           {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, big)
            call = lambda: reg.get_manifest("v1.0.0")  # noqa: E731
        elif what == "token":
            registry.challenge = f'Bearer realm="{registry.url("/token")}"'
            registry.route("GET", "/token", 200, {"Content-Type": "application/json"}, big)
            call = lambda: reg.resolve("v1.0.0")  # noqa: E731
        elif what == "tag page":
            registry.route("GET", f"/v2/{REPO}/tags/list", 200, {}, big)
            call = reg.list_tags
        else:
            registry.route("GET", f"/v2/{REPO}/referrers/", 200, {}, big)
            call = lambda: reg.referrers(digest)  # noqa: E731
        with pytest.raises(RegistryUnavailableError, match="larger than floe accepts") as caught:
            call()
        assert caught.value.exit_code == 5

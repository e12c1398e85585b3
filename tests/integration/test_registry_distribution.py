"""DistributionRegistry against real registries: auth, TLS, outages, and the fake for
what docker-registry 2.8 lacks (Bearer tokens, the referrers API, pagination, 5xx)."""

from __future__ import annotations

import base64
import json
import os
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from floe_ledger.adapters.registry import (
    DistributionRegistry,
    RegistryLocation,
    RegistrySettings,
    open_registry,
    push_files,
    resolve_credentials,
)
from floe_ledger.adapters.registry.artifacts import EMPTY_DESCRIPTOR
from floe_ledger.domain.model.errors import (
    ConfigError,
    NotFoundError,
    RegistryUnavailableError,
    UnauthorizedError,
)
from floe_ledger.domain.model.oci import (
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    sha256_digest,
    sorted_json,
)
from floe_ledger.domain.services.ports import Registry
from support.fake_registry import FakeRegistry
from support.registry_server import RegistryServer, start_registry

RECORD_TYPE = "application/vnd.floe.promotion.v1+json"
FAKE_USERS = {"alice": "alice-token-pw"}


def write_docker_config(folder: Path, config: dict[str, object]) -> dict[str, str]:
    """Write ``config.json`` into ``folder``; return an env mapping pointing at it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(folder), "PATH": "/usr/bin:/bin"}


def basic_auth_config(host: str, user: str, password: str) -> dict[str, object]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"auths": {host: {"auth": token}}}


def open_uri(uri: str, tmp_path: Path, env: dict[str, str]) -> Registry:
    return open_registry(
        RegistrySettings(uri=uri, plain_http=True), base_dir=tmp_path, env=env,
        sleep=lambda _s: None,
    )


def sample(tmp_path: Path) -> list[Path]:
    path = tmp_path / "bundle.json"
    path.write_text('{"hello": "world"}')
    return [path]


def referrer_of(registry: Registry, subject: Descriptor, note: str) -> Manifest:
    registry.put_blob(b"{}")
    doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": RECORD_TYPE,
           "config": EMPTY_DESCRIPTOR, "layers": [],
           "subject": {"mediaType": subject.media_type, "digest": subject.digest,
                       "size": subject.size},
           "annotations": {"floe.promotion.env": note}}
    data = sorted_json(doc)
    return Manifest(sha256_digest(data), OCI_MANIFEST, data)


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    with FakeRegistry() as server:
        yield server


# -- configuration ---------------------------------------------------------------------


@pytest.mark.requirement("CFG-01")
@pytest.mark.parametrize(
    ("value", "host", "repository"),
    [
        ("oci://registry.example.com/acme/platform", "registry.example.com", "acme/platform"),
        ("127.0.0.1:5000/acme/app", "127.0.0.1:5000", "acme/app"),
        ("oci://localhost:5000/a/b/c/", "localhost:5000", "a/b/c"),
    ],
)
def test_registry_uris_name_host_and_repository(value: str, host: str, repository: str) -> None:
    location = RegistryLocation.parse(value, base_dir=Path("/x"))
    assert (location.kind, location.host, location.repository) == ("distribution", host, repository)


@pytest.mark.requirement("CFG-01")
@pytest.mark.parametrize(
    "value",
    ["", "oci://host.io", "https://host.io/a", "acme/app", "oci://host.io/a:tag",
     "oci://host.io/Upper", "oci://user:hunter2@host.io/a"],
)
def test_malformed_registry_uris_name_the_setting(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RegistryLocation.parse(value, base_dir=Path("/x"))
    assert "artifacts.registry.uri" in caught.value.message
    assert "hunter2" not in str(caught.value.as_dict())


# -- credentials and basic auth (real registry with htpasswd) --------------------------


@pytest.mark.requirement("FR-045")
def test_basic_auth_from_docker_config_is_accepted_and_names_the_user(
    auth_registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    users = auth_registry_server.users
    env = write_docker_config(
        tmp_path / "docker",
        basic_auth_config(f"https://{auth_registry_server.host}", "alice", users["alice"]),
    )
    registry = open_uri(auth_registry_server.uri(repo_name), tmp_path, env)

    # Before any request, asking checks the credential against the registry once.
    assert registry.authenticated_user() == "alice"
    manifest = push_files(registry, sample(tmp_path), "v1.0.0-dev")
    assert registry.put_manifest("v1.0.0-staging", manifest) == manifest.digest
    assert registry.authenticated_user() == "alice"


@pytest.mark.requirement("FR-045")
def test_explicit_credentials_win_over_docker_config(
    auth_registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    env = write_docker_config(
        tmp_path / "docker", basic_auth_config(auth_registry_server.host, "alice", "wrong")
    )
    env |= {"FLOE_REGISTRY_USERNAME": "bob",
            "FLOE_REGISTRY_PASSWORD": auth_registry_server.users["bob"]}
    registry = open_uri(auth_registry_server.uri(repo_name), tmp_path, env)

    assert registry.list_tags() == []
    assert registry.authenticated_user() == "bob"
    settings = RegistrySettings(uri="oci://h.io/a", username="bob", password="bob-pw-9d1")
    assert "bob-pw-9d1" not in repr(settings)


@pytest.mark.requirement("FR-045")
def test_a_wrong_password_is_unauthorized_and_never_shown(
    auth_registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    secret = "alice-WRONG-pw-5f1c"
    env = write_docker_config(
        tmp_path / "docker", basic_auth_config(auth_registry_server.host, "alice", secret)
    )
    registry = open_uri(auth_registry_server.uri(repo_name), tmp_path, env)

    with pytest.raises(UnauthorizedError) as caught:
        registry.resolve("v1.0.0-dev")

    error = caught.value
    shown = [str(error), repr(error), error.hint, json.dumps(error.as_dict()),
             "".join(traceback.format_exception(error))]
    assert all(secret not in text for text in shown)
    assert "alice" in error.message
    assert "config.json" in error.hint and "FLOE_REGISTRY_USERNAME" in error.hint


@pytest.mark.requirement("FR-045")
def test_anonymous_access_to_an_auth_registry_is_unauthorized(
    auth_registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    env = write_docker_config(tmp_path / "docker", {})
    registry = open_uri(auth_registry_server.uri(repo_name), tmp_path, env)

    with pytest.raises(UnauthorizedError, match="anonymous"):
        registry.list_tags()
    assert registry.authenticated_user() is None


@pytest.mark.requirement("FR-045")
def test_credentials_come_from_a_docker_credential_helper_on_the_injected_path(
    auth_registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-floetest"
    answer = json.dumps({"ServerURL": auth_registry_server.host, "Username": "alice",
                         "Secret": auth_registry_server.users["alice"]})
    helper.write_text(
        "#!/bin/sh\n"
        "read -r host\n"
        f'echo "$1 $host" > {tmp_path}/helper-called\n'
        f'if [ "$host" = "{auth_registry_server.host}" ]; then echo \'{answer}\'\n'
        "else echo 'credentials not found in native keychain'; exit 1; fi\n"
    )
    helper.chmod(0o755)
    env = write_docker_config(
        tmp_path / "docker", {"credHelpers": {auth_registry_server.host: "floetest"}}
    )
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    assert str(bin_dir) not in os.environ.get("PATH", "")

    creds = resolve_credentials(auth_registry_server.host, env=env)
    registry = open_uri(auth_registry_server.uri(repo_name), tmp_path, env)

    assert creds is not None and creds.username == "alice"
    assert auth_registry_server.users["alice"] not in repr(creds) + str(creds)
    assert (tmp_path / "helper-called").read_text() == f"get {auth_registry_server.host}\n"
    assert registry.authenticated_user() == "alice"
    # A store helper that has nothing for the host means anonymous, not an error.
    other = write_docker_config(tmp_path / "d2", {"credsStore": "floetest"})
    assert resolve_credentials("other.example", env=other | {"PATH": env["PATH"]}) is None


# -- availability and TLS --------------------------------------------------------------


@pytest.mark.requirement("EDGE-03")
def test_a_stopped_registry_fails_fast_as_unavailable(tmp_path: Path) -> None:
    server = start_registry()
    server.stop()
    try:
        registry = open_registry(
            RegistrySettings(uri=server.uri("acme/app"), plain_http=True),
            base_dir=tmp_path, env={},
        )
        started = time.monotonic()
        with pytest.raises(RegistryUnavailableError) as caught:
            registry.resolve("v1.0.0-dev")
        assert time.monotonic() - started < 10
        assert "artifacts.registry.uri" in caught.value.hint
        assert "plain_http" in caught.value.hint
    finally:
        server.cleanup()


@pytest.mark.requirement("CFG-01")
def test_a_tls_registry_works_with_its_ca_and_fails_clearly_without(
    tmp_path: Path, repo_name: str
) -> None:
    server = start_registry(tls=True)
    try:
        uri = server.uri(repo_name)
        trusted = open_registry(RegistrySettings(uri=uri, ca_file=server.ca_file),
                                base_dir=tmp_path, env={})
        manifest = push_files(trusted, sample(tmp_path), "v1.0.0-dev")
        assert trusted.resolve("v1.0.0-dev") == manifest.descriptor

        untrusted = open_registry(RegistrySettings(uri=uri), base_dir=tmp_path, env={})
        with pytest.raises(RegistryUnavailableError) as caught:
            untrusted.resolve("v1.0.0-dev")
        assert "TLS" in caught.value.message and "ca_file" in caught.value.hint

        plain = open_registry(RegistrySettings(uri=uri, plain_http=True), base_dir=tmp_path,
                              env={})
        with pytest.raises(RegistryUnavailableError, match="plain_http"):
            plain.resolve("v1.0.0-dev")
    finally:
        server.cleanup()


# -- protocol details on the real registry ---------------------------------------------


@pytest.mark.requirement("FR-002")
def test_a_manifest_naming_a_missing_blob_is_refused_with_the_registry_code(
    registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    registry = open_uri(registry_server.uri(repo_name), tmp_path, {})
    data = sorted_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                        "config": EMPTY_DESCRIPTOR, "layers": []})

    with pytest.raises(NotFoundError, match="MANIFEST_BLOB_UNKNOWN"):
        registry.put_manifest("v1", Manifest(sha256_digest(data), OCI_MANIFEST, data))


@pytest.mark.requirement("FR-002")
def test_blobs_mount_across_repositories(
    registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    source = DistributionRegistry(registry_server.host, repo_name, plain_http=True)
    target = DistributionRegistry(registry_server.host, repo_name + "-prod", plain_http=True)
    digest = source.put_blob(b"layer bytes")

    assert target.mount_blob(digest, repo_name) is True
    assert target.has_blob(digest)
    assert target.mount_blob(sha256_digest(b"nowhere"), repo_name) is False


@pytest.mark.requirement("FR-025a")
def test_fallback_entries_whose_manifest_is_gone_are_dropped(
    registry_server: RegistryServer, tmp_path: Path, repo_name: str
) -> None:
    registry = open_uri(registry_server.uri(repo_name), tmp_path, {})
    subject = push_files(registry, sample(tmp_path), "v1.0.0-dev").descriptor
    gone = referrer_of(registry, subject, "dev")
    registry.attach_referrer(subject.digest, gone, RECORD_TYPE)
    deleted = httpx.delete(f"{registry_server.url}/v2/{repo_name}/manifests/{gone.digest}")
    assert deleted.status_code == 202

    kept = referrer_of(registry, subject, "staging")
    registry.attach_referrer(subject.digest, kept, RECORD_TYPE)

    assert [d.digest for d in registry.referrers(subject.digest)] == [kept.digest]


# -- Bearer tokens, referrers API, pagination and retries (in-process fake) -------------


@pytest.mark.requirement("FR-045", "FR-002", "FR-003")
def test_bearer_token_auth_and_a_promote_costs_one_get_and_two_puts(tmp_path: Path) -> None:
    with FakeRegistry(users=FAKE_USERS) as fake:
        env = {"FLOE_REGISTRY_USERNAME": "alice", "FLOE_REGISTRY_PASSWORD": FAKE_USERS["alice"]}
        registry = open_uri(fake.uri("acme/app"), tmp_path, env)
        manifest = push_files(registry, sample(tmp_path), "v1.0.0-dev")
        fake.requests.clear()

        source = registry.get_manifest(manifest.digest)
        registry.put_manifest("v1.0.0-staging", source)
        registry.put_manifest("latest-staging", source)

        assert [m for m, _ in fake.requests] == ["GET", "PUT", "PUT"]
        assert fake.token_requests == [("alice", ["repository:acme/app:pull,push"])]
        assert registry.authenticated_user() == "alice"


@pytest.mark.requirement("FR-045")
def test_a_docker_identity_token_is_exchanged_for_an_access_token(tmp_path: Path) -> None:
    with FakeRegistry(users=FAKE_USERS) as fake:
        fake.identity_tokens["refresh-abc-123"] = "alice"
        env = write_docker_config(tmp_path / "docker", {"auths": {fake.host: {
            "auth": base64.b64encode(b"<token>:").decode(), "identitytoken": "refresh-abc-123",
        }}})
        registry = open_uri(fake.uri("acme/app"), tmp_path, env)

        assert registry.list_tags() == []
        assert fake.token_requests == [("alice", ["repository:acme/app:pull,push"])]
        assert registry.authenticated_user() is None  # a bare token names no user


@pytest.mark.requirement("FR-045")
def test_a_token_service_refusing_the_password_is_unauthorized(tmp_path: Path) -> None:
    with FakeRegistry(users=FAKE_USERS) as fake:
        env = {"FLOE_REGISTRY_USERNAME": "alice", "FLOE_REGISTRY_PASSWORD": "nope-7c2e"}
        registry = open_uri(fake.uri("acme/app"), tmp_path, env)

        with pytest.raises(UnauthorizedError) as caught:
            registry.list_tags()
        assert "nope-7c2e" not in json.dumps(caught.value.as_dict())
        assert "token service" in caught.value.message


@pytest.mark.requirement("NFR-004")
def test_5xx_answers_are_retried_a_bounded_number_of_times(fake: FakeRegistry) -> None:
    pauses: list[float] = []
    registry = DistributionRegistry(fake.host, "acme/app", plain_http=True, sleep=pauses.append)

    fake.fail_next(2)
    assert registry.resolve("v1") is None
    assert pauses == [0.2, 0.6]

    fake.fail_next(5)
    fake.requests.clear()
    with pytest.raises(RegistryUnavailableError, match="HTTP 500"):
        registry.list_tags()
    assert len(fake.requests) == 3


@pytest.mark.requirement("EDGE-01")
def test_client_errors_are_not_retried(fake: FakeRegistry) -> None:
    registry = DistributionRegistry(fake.host, "acme/app", plain_http=True)

    with pytest.raises(NotFoundError):
        registry.get_blob(sha256_digest(b"missing"))
    assert len(fake.requests) == 1


@pytest.mark.requirement("FR-002")
def test_list_tags_follows_link_pagination(tmp_path: Path) -> None:
    with FakeRegistry(tags_page_size=2) as fake:
        registry = open_uri(fake.uri("acme/app"), tmp_path, {})
        manifest = push_files(registry, sample(tmp_path), "v1.0.0-dev")
        for tag in ("a", "b", "c", "d"):
            registry.put_manifest(tag, manifest)
        fake.requests.clear()

        assert sorted(registry.list_tags()) == ["a", "b", "c", "d", "v1.0.0-dev"]
        assert len(fake.requests) == 3


@pytest.mark.requirement("FR-002")
def test_resolve_hashes_the_manifest_when_the_digest_header_is_missing(tmp_path: Path) -> None:
    with FakeRegistry(digest_header=False) as fake:
        registry = open_uri(fake.uri("acme/app"), tmp_path, {})
        manifest = push_files(registry, sample(tmp_path), "v1.0.0-dev")

        assert registry.resolve("v1.0.0-dev") == manifest.descriptor


@pytest.mark.requirement("FR-023", "FR-025a")
@pytest.mark.parametrize("subject_header", [True, False])
def test_with_a_referrers_api_no_fallback_tag_is_written(
    tmp_path: Path, subject_header: bool
) -> None:
    with FakeRegistry(oci_subject_header=subject_header) as fake:
        registry = open_uri(fake.uri("acme/app"), tmp_path, {})
        subject = push_files(registry, sample(tmp_path), "v1.0.0-dev").descriptor
        record = referrer_of(registry, subject, "staging")

        registry.attach_referrer(subject.digest, record, RECORD_TYPE)

        assert list(fake.tags["acme/app"]) == ["v1.0.0-dev"]
        [found] = registry.referrers(subject.digest, RECORD_TYPE)
        assert (found.digest, found.artifact_type) == (record.digest, RECORD_TYPE)
        assert found.annotations == {"floe.promotion.env": "staging"}
        assert registry.referrers(subject.digest, "application/other") == []


@pytest.mark.requirement("FR-023", "FR-025a")
def test_without_a_referrers_api_the_fallback_is_used_and_the_probe_cached(
    tmp_path: Path,
) -> None:
    with FakeRegistry(referrers_api=False, oci_subject_header=False) as fake:
        registry = open_uri(fake.uri("acme/app"), tmp_path, {})
        subject = push_files(registry, sample(tmp_path), "v1.0.0-dev").descriptor

        for env in ("staging", "prod"):
            registry.attach_referrer(subject.digest, referrer_of(registry, subject, env),
                                     RECORD_TYPE)
        listed = registry.referrers(subject.digest, RECORD_TYPE)

        assert "sha256-" + subject.digest[7:] in fake.tags["acme/app"]
        assert [d.annotations["floe.promotion.env"] for d in listed] == ["staging", "prod"]
        probes = [p for _, p in fake.requests if "/referrers/" in p]
        assert len(probes) == 1

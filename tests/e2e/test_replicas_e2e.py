"""Replicas end to end (US6, FR-028..030, SC-006): three registries get the same digest; a
replica stopped mid-run leaves the promotion at exit 0 with that replica failed;
`floe platform sync` levels it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from support.registry_server import RegistryServer, start_registry
from support.workspace import Workspace, raw_manifest


@pytest.fixture(scope="module")
def replica_servers() -> Iterator[list[RegistryServer]]:
    servers = [start_registry(), start_registry()]
    yield servers
    for server in servers:
        server.cleanup()


@pytest.fixture
def replicated(workspace: Workspace, replica_servers: list[RegistryServer],
               repo_name: str) -> Workspace:
    for server in replica_servers:
        if server.process is None:
            server.start()
    workspace.write_manifest(replicas=[{"uri": s.uri(repo_name), "plain_http": True}
                                       for s in replica_servers])
    return workspace


@pytest.mark.requirement("FR-028", "FR-029", "FR-030", "SC-006", "US6")
def test_three_registries_a_stopped_replica_and_sync(replicated: Workspace,
                                                     replica_servers: list[RegistryServer],
                                                     repo_name: str) -> None:
    ws = replicated
    uris = [ws.registry_uri, *(s.uri(repo_name) for s in replica_servers)]
    digest = ws.push("v1.2.3")
    code, out = ws.json("platform", "promote", "v1.2.3", "--to", "dev")
    assert code == 0, out
    assert [(r["uri"], r["status"]) for r in out["registries"]] == [(u, "ok") for u in uris]
    for uri in uris:
        for tag in ("v1.2.3-dev", "latest-dev"):
            assert raw_manifest(uri, tag)[2] == digest

    replica_servers[1].stop()
    started = time.monotonic()
    code, out = ws.json("platform", "promote", "v1.2.3", "--from", "dev", "--to", "staging")
    elapsed = time.monotonic() - started
    assert code == 0, out
    assert [r["status"] for r in out["registries"]] == ["ok", "ok", "failed"]
    assert "unavailable" in out["registries"][2]["error"]
    assert any("floe platform sync" in w for w in out["warnings"])
    assert elapsed < 15
    completed = ws.events("PromotionCompleted")[-1]
    assert [r["status"] for r in completed["registries"]] == ["ok", "ok", "failed"]

    replica_servers[1].start()
    code, check = ws.json("platform", "sync", "--check")
    assert code == 14, check
    assert [r["level"] for r in check["replicas"]] == [True, False]
    assert sorted(check["replicas"][1]["missing"]) == ["latest-staging", "v1.2.3-staging"]
    code, synced = ws.json("platform", "sync")
    assert code == 0, synced
    assert [r["status"] for r in synced["replicas"]] == ["ok", "ok"]
    assert ws.json("platform", "sync", "--check")[0] == 0
    for uri in uris:
        for tag in ("v1.2.3-dev", "latest-dev", "v1.2.3-staging", "latest-staging"):
            assert raw_manifest(uri, tag)[2] == digest
    print(f"\npromote with one replica down: {elapsed * 1000:.0f} ms (whole process)")

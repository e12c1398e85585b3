"""A fresh checkout (its own, empty ledger) in front of a registry another checkout promoted
into: promote and rollback read the same registry state the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.registry_server import RegistryServer
from support.workspace import Workspace, make_workspace, raw_manifest


def _released(tmp_path: Path, server: RegistryServer, repo: str) -> tuple[str, str]:
    """Checkout A promotes v1.0.0 then v1.1.0 to prod; returns their digests."""
    (tmp_path / "a").mkdir()
    a = make_workspace(tmp_path / "a", server, repo)
    digests = []
    for version in ("v1.0.0", "v1.1.0"):
        digests.append(a.push(version))
        for source, target in ((None, "dev"), ("dev", "staging"), ("staging", "prod")):
            args = ["platform", "promote", version, "--to", target]
            code, out = a.json(*args, *(["--from", source] if source else []))
            assert code == 0, out
    return digests[0], digests[1]


def _fresh(tmp_path: Path, server: RegistryServer, repo: str, name: str) -> Workspace:
    (tmp_path / name).mkdir()
    ws = make_workspace(tmp_path / name, server, repo)
    assert not ws.ledger.exists()
    return ws


@pytest.mark.requirement("FR-013", "FR-001", "TAG-06")
def test_rollback_and_promote_both_take_the_registry_env_tag_in_a_fresh_checkout(
        tmp_path: Path, registry_server: RegistryServer, repo_name: str) -> None:
    v1, _ = _released(tmp_path, registry_server, repo_name)

    # Promote in a fresh checkout: v1.0.0-prod in the registry means "already promoted"
    # (exit 10), and --force completes it from the registry's tags without re-writing them.
    b = _fresh(tmp_path, registry_server, repo_name, "b")
    code, out = b.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod")
    assert code == 10, out
    assert out["error"]["code"] == "tag_exists"
    code, out = b.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                       "--force")
    assert code == 0, out
    assert out["artifact_digest"] == v1

    # Rollback in another fresh checkout reads the same registry state the same way: the
    # registry's v1.0.0-prod, with checkout A's record of it, is a version that ran in prod,
    # not "never promoted" (exit 11).
    c = _fresh(tmp_path, registry_server, repo_name, "c")
    code, out = c.json("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad 1.1")
    assert code == 0, out
    assert out["artifact_digest"] == v1
    _, _, latest = raw_manifest(c.registry_uri, "latest-prod")
    assert latest == v1
    assert "RecordObserved" in c.event_kinds() and "RolledBack" in c.event_kinds()

    # A version the registry has never held in prod is still refused by both.
    code, out = c.json("platform", "rollback", "v9.9.9", "--env", "prod", "--reason", "x")
    assert code == 11, out

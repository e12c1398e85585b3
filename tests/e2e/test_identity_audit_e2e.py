"""Identity you can audit (FR-045..FR-049): every event says how its operator was identified,
an environment that requires authentication refuses a local user, and --break-glass needs
an authenticated operator in the environment's groups. Each step is a separate `floe`
process against a registry with htpasswd auth, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.ledger_db import KINDS, fresh_postgres_url
from support.oidc import OidcIssuer
from support.registry_server import RegistryServer
from support.workspace import Workspace, base_env, docker_login

PASSWORDS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}
LOCAL: dict[str, str] = {}  # no credential: the local user ci-runner, unauthenticated


@pytest.fixture(params=KINDS)
def guarded(request: pytest.FixtureRequest, tmp_path: Path,
            auth_registry_server: RegistryServer,
            repo_name: str) -> Iterator[tuple[Workspace, dict[str, dict[str, str]], OidcIssuer]]:
    uri = auth_registry_server.uri(repo_name)
    ws = Workspace(tmp_path, uri, {"registry": {"uri": uri, "plain_http": True}},
                   env=base_env(tmp_path))
    users = {u: docker_login(tmp_path, auth_registry_server.host, u, p)
             for u, p in PASSWORDS.items()}
    issuer = OidcIssuer(tmp_path)
    if request.param == "sqlite":
        yield ws, users, issuer
        return
    with fresh_postgres_url() as url:
        ws.env["FLOE_LEDGER_URL"] = url
        assert ws.run("ledger", "init").returncode == 0
        yield ws, users, issuer


def manifest(ws: Workspace, prod: dict[str, object]) -> None:
    ws.write_manifest(
        promotion={"environments": [{"name": "dev"}, {"name": "staging"},
                                    {"name": "prod", **prod}]},
        identity={"oidc": OidcIssuer.config(),
                  "groups": {"alice": ["platform-admins"], "bob": ["developers"],
                             "ci-runner": ["platform-admins"]}},
    )


def release(ws: Workspace, env: dict[str, str], *targets: tuple[str | None, str]) -> None:
    path = ws.root / "v1.0.0.yaml"
    path.write_text("platform: v1.0.0\n")
    assert ws.run("artifact", "push", str(path), "v1.0.0", env=env).returncode == 0
    for source, target in targets:
        args = ("--from", source, "--to", target) if source else ("--to", target)
        proc = ws.run("platform", "promote", "v1.0.0", *args, env=env)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.requirement("FR-045", "FR-046", "FR-048", "FR-049", "FR-001", "SC-003")
def test_history_shows_how_each_operator_was_identified(guarded) -> None:
    ws, users, issuer = guarded
    manifest(ws, {"authorization": {"allowed_groups": ["platform-admins"]}})
    alice, bob = users["alice"], users["bob"]
    release(ws, alice)
    oidc = {**alice, "FLOE_OIDC_TOKEN": issuer.token()}  # registry access stays alice's
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev", env=oidc).returncode == 0
    assert ws.run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging",
                  env=bob).returncode == 0
    # prod requires authentication: ci-runner's manifest group does not count without it.
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=LOCAL)
    assert code == 12, out
    assert "ci-runner is not authenticated" in out["error"]["message"]
    assert "local user name" in out["error"]["message"]
    assert "FLOE_OIDC_TOKEN" in out["error"]["hint"]
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=alice)
    assert code == 0, out

    assert ws.events("ArtifactRegistered")[0]["identified_by"] == "oidc"  # the first promotion
    assert [e["identified_by"] for e in ws.events("PromotionCompleted")] == [
        "oidc", "registry", "registry"]
    assert ws.events("PromotionRejected")[-1]["identified_by"] == "local"

    code, status = ws.json("platform", "status", "--history", "5", "--all", env=alice)
    assert code == 0, status
    history = {row["environment"]: [(h["kind"], h["operator"], h["identified_by"])
                                    for h in row["history"]] for row in status["environments"]}
    assert history["dev"] == [("PROMOTED", "ci@acme.example", "oidc")]
    assert history["staging"] == [("PROMOTED", "bob", "registry")]
    assert history["prod"] == [("PROMOTED", "alice", "registry"),
                               ("REJECTED", "ci-runner", "local")]
    table = ws.run("platform", "status", "--env", "prod", "--history", "5", "--all",
                   env=alice)
    assert table.returncode == 0 and "Identified By" in table.stdout
    assert "local" in table.stdout and "registry" in table.stdout

    code, audit = ws.json("audit", "history", "--kind", "promote", "--kind", "reject")
    assert code == 0, audit
    assert [(e["kind"], e["environment"], e["identified_by"]) for e in audit["entries"]] == [
        ("PromotionCompleted", "prod", "registry"), ("PromotionRejected", "prod", "local"),
        ("PromotionCompleted", "staging", "registry"), ("PromotionCompleted", "dev", "oidc")]
    lines = ws.run("audit", "history", "--kind", "promote").stdout.splitlines()
    assert any("ci@acme.example" in line and " oidc " in line for line in lines), lines


@pytest.mark.requirement("FR-036", "FR-045", "FR-047", "FR-048", "FR-049", "US8")
def test_break_glass_needs_an_authenticated_operator_in_the_groups(guarded) -> None:
    ws, users, _ = guarded
    manifest(ws, {})  # no authorization block: anyone may promote, but not break glass
    alice, bob = users["alice"], users["bob"]
    release(ws, alice, (None, "dev"), ("dev", "staging"))
    assert ws.run("platform", "lock", "--env", "prod", "--reason", "INC-7",
                  env=alice).returncode == 0
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        "--break-glass", "hotfix", env=LOCAL)
    assert code == 12, out
    assert "not authenticated" in out["error"]["message"]
    assert "FLOE_OIDC_TOKEN" in out["error"]["hint"]
    code, out = ws.json("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad",
                        "--break-glass", "hotfix", env=LOCAL)
    assert code == 12, out

    manifest(ws, {"authorization": {"allowed_groups": ["platform-admins"],
                                    "break_glass_groups": ["sre"]}})
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        "--break-glass", "hotfix", env=bob)
    assert code == 12, out
    message = out["error"]["message"]
    assert "bob (identified by a registry credential)" in message
    assert "required: one of the groups platform-admins or sre" in message
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        "--break-glass", "hotfix", env=alice)
    assert code == 0, out

    refused = [(e["operator"], e["identified_by"], e["code"], e["exit_code"])
               for e in ws.events("PromotionRejected") + ws.events("RollbackRejected")]
    assert refused == [("ci-runner", "local", "unauthorized", 12),
                       ("bob", "registry", "unauthorized", 12),
                       ("ci-runner", "local", "unauthorized", 12)]
    (broken,) = ws.events("LockBroken")
    assert (broken["operator"], broken["identified_by"], broken["reason"]) == (
        "alice", "registry", "hotfix")
    assert ws.events("PromotionRequested")[-1]["authorization"]["authorized_via"] == \
        "break-glass:group:platform-admins"


@pytest.mark.requirement("FR-049", "FR-051", "FR-045")
def test_separation_of_duties_is_not_passed_by_switching_identity_source(guarded) -> None:
    """Security review §5: alice promotes to staging by OIDC, then to prod by registry login
    (another name for the same person); and a token whose email the IdP never verified."""
    ws, users, issuer = guarded
    manifest(ws, {"authorization": {"allowed_groups": ["platform-admins"],
                                    "separation_of_duties": True}})
    alice = users["alice"]
    release(ws, alice, (None, "dev"))
    as_alice_oidc = {**alice, "FLOE_OIDC_TOKEN": issuer.token(sub="alice", email="alice@acme",
                                                              email_verified=True)}
    assert ws.run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging",
                  env=as_alice_oidc).returncode == 0
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=alice)  # the registry login "alice", in platform-admins
    assert code == 12, out
    assert out["error"]["code"] == "separation_of_duties"
    assert "identified by oidc" in out["error"]["message"]
    # An unverified email is not a name: the token's sub is, and the manifest's groups for
    # the claimed address do not apply.
    code, who = ws.json("whoami", env={**alice, "FLOE_OIDC_TOKEN": issuer.token(
        sub="mallory-sub", email="alice", email_verified=False, groups=[])})
    assert code == 0 and who["operator"]["name"] == "mallory-sub", who
    assert who["operator"]["groups"] == []

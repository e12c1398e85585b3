"""Operations end to end: US3, US8, US10, US11, each step a separate `floe` process, against a
registry with htpasswd basic auth and two users, so identity comes from the credential."""

from __future__ import annotations

import urllib.error

import pytest

from support.registry_server import RegistryServer
from support.workspace import Workspace, base_env, docker_login, list_tags, raw_manifest

PASSWORDS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}


@pytest.fixture
def secured(tmp_path, auth_registry_server: RegistryServer, repo_name: str):
    uri = auth_registry_server.uri(repo_name)
    ws = Workspace(tmp_path, uri, {"registry": {"uri": uri, "plain_http": True}},
                   env=base_env(tmp_path))
    users = {u: docker_login(tmp_path, auth_registry_server.host, u, p)
             for u, p in PASSWORDS.items()}
    return ws, users


def manifest(ws: Workspace, *, prod: dict, staging: dict | None = None,
             groups: dict | None = None, dependents: list | None = None) -> None:
    ws.write_manifest(
        promotion={"environments": [{"name": "dev"}, {"name": "staging", **(staging or {})},
                                    {"name": "prod", **prod}]},
        identity={"groups": groups or {}},
        dependents=dependents or [],
    )


def to_staging(ws: Workspace, env: dict[str, str], version: str = "v1.0.0") -> None:
    for args in (("--to", "dev"), ("--from", "dev", "--to", "staging")):
        proc = ws.run("platform", "promote", version, *args, env=env)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.requirement("FR-045", "FR-046", "FR-047", "FR-048", "FR-049", "US10", "SC-012")
def test_only_the_allowed_group_may_promote_to_prod(secured) -> None:
    ws, users = secured
    manifest(ws, prod={"authorization": {"allowed_groups": ["platform-admins"]}},
             groups={"alice": ["platform-admins"], "bob": ["developers"]})
    code, who = ws.json("whoami", env=users["bob"])
    assert code == 0 and who["operator"]["name"] == "bob"
    assert who["operator"]["source"] == "registry" and who["operator"]["authenticated"]
    push = ws.run("artifact", "push", *_file(ws), "v1.0.0", env=users["alice"])
    assert push.returncode == 0, push.stderr
    to_staging(ws, users["bob"])
    # AS1: bob is refused, with the required and actual groups.
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=users["bob"])
    assert code == 12
    message = out["error"]["message"]
    assert "Unauthorized" in message and "bob" in message and "platform-admins" in message
    assert "developers" in message
    # AS2: alice may, and the check is recorded with how she was authorized.
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=users["alice"])
    assert code == 0, out
    requested = ws.events("PromotionRequested")[-1]
    assert requested["operator"] == "alice"
    assert requested["authorization"]["authorization_passed"] is True
    assert requested["authorization"]["authorized_via"] == "group:platform-admins"
    rejected = ws.events("PromotionRejected")[-1]
    assert rejected["operator"] == "bob" and rejected["code"] == "unauthorized"
    # AS4 and FR-048: refusals are visible in history.
    code, status = ws.json("platform", "status", "--env", "prod", "--history", "5", "--all")
    kinds = [h["kind"] for h in status["environments"][0]["history"]]
    assert kinds[:2] == ["PROMOTED", "REJECTED"]


@pytest.mark.requirement("FR-045")
def test_a_wrong_password_is_refused_and_never_printed(secured) -> None:
    ws, _ = secured
    manifest(ws, prod={})
    host = ws.registry_uri.removeprefix("oci://").split("/")[0]
    (ws.root / "bad").mkdir()
    bad = docker_login(ws.root / "bad", host, "alice", "not-the-password")
    proc = ws.run("whoami", env=bad)
    assert proc.returncode == 12
    assert "not-the-password" not in proc.stdout + proc.stderr


@pytest.mark.requirement("FR-050", "FR-051", "FR-052", "FR-053", "US11", "SC-013")
def test_separation_of_duties_requires_a_second_operator_for_prod(secured) -> None:
    ws, users = secured
    manifest(ws, prod={"authorization": {"allowed_groups": ["release"],
                                         "separation_of_duties": True}},
             groups={"alice": ["release"], "bob": ["release"]})
    assert ws.run("artifact", "push", *_file(ws), "v1.0.0", env=users["alice"]).returncode == 0
    to_staging(ws, users["alice"])
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=users["alice"])
    assert code == 12
    assert out["error"]["code"] == "separation_of_duties"
    assert "Separation of duties violation" in out["error"]["message"]
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=users["bob"])
    assert code == 0, out
    assert [e["code"] for e in ws.events("PromotionRejected")] == ["separation_of_duties"]


@pytest.mark.requirement("FR-035", "FR-036", "FR-037", "FR-038", "FR-039", "US8", "SC-009")
def test_a_lock_set_by_one_process_refuses_another_until_unlocked(secured) -> None:
    ws, users = secured
    manifest(ws, prod={})
    assert ws.run("artifact", "push", *_file(ws), "v1.0.0", env=users["alice"]).returncode == 0
    to_staging(ws, users["bob"])
    lock = ws.run("platform", "lock", "--env", "prod", "--reason", "incident INC-7",
                  env=users["alice"])
    assert lock.returncode == 0 and "unlock" in lock.stdout
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                        env=users["bob"])
    assert code == 13
    assert "incident INC-7" in out["error"]["message"]
    assert "alice" in out["error"]["hint"]
    assert out["error"]["details"]["locked_at"]
    code, doc = ws.json("platform", "status", "--env", "prod", env=users["bob"])
    status = doc["environments"]
    assert status[0]["locked"] is True and status[0]["locked_by"] == "alice"
    assert status[0]["lock_reason"] == "incident INC-7"
    assert ws.run("platform", "unlock", "--env", "prod", "--reason", "resolved",
                  env=users["alice"]).returncode == 0
    assert ws.run("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod",
                  env=users["bob"]).returncode == 0
    assert "EnvironmentUnlocked" in ws.event_kinds()


@pytest.mark.requirement("FR-013", "FR-014", "FR-015", "FR-016", "FR-017", "US3", "TAG-04",
                         "RB-06", "EDGE-07")
def test_rollback_repoints_latest_and_explains_what_it_undoes(secured) -> None:
    ws, users = secured
    manifest(ws, prod={}, dependents=[{"name": "orders-pipeline", "constraint": ">=2.0.0"}])
    alice = users["alice"]
    for version in ("v1.0.0", "v2.0.0"):
        assert ws.run("artifact", "push", *_file(ws, version), version, env=alice).returncode == 0
        to_staging(ws, alice, version)
        assert ws.run("platform", "promote", version, "--from", "staging", "--to", "prod",
                      env=alice).returncode == 0
    # AS3: a version never promoted to prod lists those that were.
    code, out = ws.json("platform", "rollback", "v1.5.0", "--env", "prod", "--reason", "x",
                        env=alice)
    assert code == 11
    assert "v1.0.0-prod, v2.0.0-prod" in out["error"]["hint"]
    # AS2: the dry run's impact names the versions, the semver-major step and the dependent.
    code, out = ws.json("platform", "rollback", "v1.0.0", "--env", "prod", "--dry-run", env=alice)
    impact = out["impact_analysis"]
    assert [u["version"] for u in impact["undone"]] == ["v2.0.0"]
    assert impact["breaking_changes"][0]["from"] == "v2.0.0"
    assert impact["affected_products"][0]["name"] == "orders-pipeline"
    assert impact["risk"] == "BLOCKED"
    assert any("orders-pipeline" in r for r in impact["recommendations"])
    blocked = ws.run("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad v2",
                     env=alice)
    assert blocked.returncode == 9 and "BLOCKED" in blocked.stderr
    # AS1 with --force: latest-prod moves to v1.0.0, immutable tags stay.
    code, out = ws.json("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad v2",
                        "--force", env=alice)
    assert code == 0, out
    assert out["rollback_tag"] == "v1.0.0-prod-rollback-1"
    assert out["previous_version"] == "v2.0.0"
    creds = ("alice", PASSWORDS["alice"])
    v1 = raw_manifest(ws.registry_uri, "v1.0.0-prod", creds)
    v2 = raw_manifest(ws.registry_uri, "v2.0.0-prod", creds)
    assert raw_manifest(ws.registry_uri, "latest-prod", creds) == v1
    assert raw_manifest(ws.registry_uri, "v1.0.0-prod-rollback-1", creds) == v1
    assert v2[2] == out["previous_digest"]  # the immutable v2.0.0-prod is untouched
    event = ws.events("RolledBack")[-1]
    assert event["reason"] == "bad v2" and event["operator"] == "alice"
    assert event["previous_digest"] and event["impact"]["risk"] == "BLOCKED"
    code, doc = ws.json("platform", "status", "--env", "prod", env=alice)
    status = doc["environments"]
    assert status[0]["version"] == "v1.0.0" and status[0]["via"] == "rollback"
    # RB-06: rolling back to what is live does nothing.
    code, out = ws.json("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "again",
                        env=alice)
    assert code == 0 and out["nothing_to_do"] is True


@pytest.mark.requirement("CLI-10")
def test_rollback_without_a_reason_off_a_terminal_is_a_usage_error(secured) -> None:
    ws, users = secured
    manifest(ws, prod={})
    proc = ws.run("platform", "rollback", "v1.0.0", "--env", "prod", env=users["alice"])
    assert proc.returncode == 2 and "--reason" in proc.stderr


def _file(ws: Workspace, version: str = "v1.0.0") -> list[str]:
    path = ws.root / f"{version}.yaml"
    path.write_text(f"platform: {version}\n")
    return [str(path)]


def test_tags_need_credentials_to_list(secured) -> None:
    ws, _ = secured

    with pytest.raises(urllib.error.HTTPError):
        list_tags(ws.registry_uri)

"""What a person reads says what happened, once and in the right words (issue 14 item 5;
FR-039, FR-049, CLI-15, CLI-16, CLI-21, ANN-12..15).

- an authorization refusal lists the groups and operators in words;
- ``artifact verify`` says "verified" once;
- an unlock record names the unlocker under ``unlocked-by``/``unlocked-at``;
- ``status --history N`` shows the last N promotions and rollbacks, refusals and locks only
  with ``--all``;
- after a rollback, "Promoted By" still names the promoter, "Rolled Back By" the operator
  who rolled back.
"""

from __future__ import annotations

import json

import pytest

from support.workspace import Workspace, raw_manifest

ALICE, BOB, CAROL = ({"USER": name} for name in ("alice", "bob", "carol"))


def _ok(ws: Workspace, *args: str, env: dict[str, str] | None = None) -> dict:
    code, out = ws.json(*args, env=env)
    assert code == 0, out
    return dict(out)


@pytest.mark.requirement("FR-049", "CLI-21", "SC-012", "FR-036")
def test_an_authorization_refusal_lists_groups_and_operators_in_words(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.write_manifest(
        promotion={"environments": [{"name": "dev"}, {"name": "prod", "authorization": {
            "allowed_groups": ["release", "sre"], "allowed_operators": ["carol"],
            "require_authenticated": False}}]},
        identity={"groups": {"bob": ["developers"]}})
    code, out = ws.json("platform", "lock", "--env", "prod", "--reason", "freeze", env=BOB)
    assert code == 12, out
    assert out["error"]["message"] == (
        "Unauthorized: operator bob (identified by the local user name, unauthenticated) is "
        "not authorized to lock prod; required: one of the groups release or sre, or "
        "operator carol; bob is in group developers")
    assert out["operation_id"] == ws.events("LockRejected")[-1]["promotion_id"]
    ws.push("v1.0.0")
    code, out = ws.json("platform", "promote", "v9.0.0", "--to", "dev")
    assert code == 3
    assert out["error"]["message"] == (f"v9.0.0 is not released in {ws.registry_uri} "
                                       "(no tag v9.0.0)")


@pytest.mark.requirement("FR-018", "FR-020", "US5")
def test_artifact_verify_says_verified_once(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    assert ws.run("artifact", "keygen", "keys/k").returncode == 0
    ws.write_manifest(registry={"uri": ws.registry_uri, "plain_http": True, "verification": {
        "enforcement": "enforce", "public_keys": ["keys/k.pub"]}})
    digest = ws.push("v1.0.0")
    assert ws.run("artifact", "sign", "v1.0.0", "--key", "keys/k.key").returncode == 0
    proc = ws.run("artifact", "verify", "v1.0.0")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.lower().count("verified") == 1, line
    assert line.startswith("Signature verified: key ") and line.endswith(f": v1.0.0 ({digest})")


@pytest.mark.requirement("FR-037", "FR-038", "ANN-12", "ANN-13", "ANN-14", "ANN-15")
def test_an_unlock_record_names_who_unlocked_it(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.push("v1.0.0")
    _ok(ws, "platform", "promote", "v1.0.0", "--to", "dev")
    _ok(ws, "platform", "lock", "--env", "dev", "--reason", "freeze", env=CAROL)
    locked = _lock_notes(ws, "dev")
    assert locked["dev.floe.lock.status"] == "locked"
    assert locked["dev.floe.lock.locked-by"] == "carol" and "dev.floe.lock.locked-at" in locked
    _ok(ws, "platform", "unlock", "--env", "dev", "--reason", "thaw", env=BOB)
    unlocked = _lock_notes(ws, "dev")
    assert unlocked["dev.floe.lock.status"] == "unlocked"
    assert unlocked["dev.floe.lock.unlocked-by"] == "bob"
    assert unlocked["dev.floe.lock.unlocked-at"] >= locked["dev.floe.lock.locked-at"]
    assert not {"dev.floe.lock.locked-by", "dev.floe.lock.locked-at"} & unlocked.keys()
    assert _ok(ws, "audit", "verify", "--registry")["success"] is True


def _lock_notes(ws: Workspace, env: str) -> dict[str, str]:
    """The environment's lock record, found as a watcher would: its ``floe-<env>-index``
    lists it (a record carries no tag of its own)."""
    index, _, _ = raw_manifest(ws.registry_uri, f"floe-{env}-index")
    [entry] = [e for e in json.loads(index)["manifests"]
               if e["annotations"].get("dev.floe.record.kind") == "lock"]
    body, _, _ = raw_manifest(ws.registry_uri, entry["digest"])
    return dict(json.loads(body)["annotations"])


@pytest.mark.requirement("CLI-15", "CLI-16", "FR-039", "FR-017", "US4")
def test_status_history_and_the_promoter_after_a_rollback(workspace: Workspace) -> None:
    ws = workspace
    ws.push("v1.0.0")
    ws.push("v2.0.0", content="two")
    _ok(ws, "platform", "promote", "v1.0.0", "--to", "dev", env=ALICE)
    _ok(ws, "platform", "promote", "v2.0.0", "--to", "dev", env=ALICE)
    assert ws.json("platform", "promote", "v3.0.0", "--to", "dev")[0] == 3  # a refusal
    _ok(ws, "platform", "lock", "--env", "dev", "--reason", "bad 2.0", env=BOB)
    _ok(ws, "platform", "unlock", "--env", "dev", "--reason", "rolling back", env=BOB)
    _ok(ws, "platform", "rollback", "v1.0.0", "--env", "dev", "--reason", "bad 2.0", "--yes",
        env=BOB)  # a major version down: RISKY, confirmed
    assert ws.json("platform", "rollback", "v9.0.0", "--env", "dev", "--reason", "x")[0] == 11

    row = _ok(ws, "platform", "status", "--env", "dev", "--history", "2")["environments"][0]
    assert (row["version"], row["via"]) == ("v1.0.0", "rollback")
    assert (row["promoted_by"], row["rolled_back_by"]) == ("alice", "bob")
    assert row["promoted_at"] < row["rolled_back_at"]
    assert [(h["kind"], h["version"]) for h in row["history"]] == [
        ("ROLLBACK", "v1.0.0"), ("PROMOTED", "v2.0.0")]
    every = _ok(ws, "platform", "status", "--env", "dev", "--history", "4", "--all")
    assert [h["kind"] for h in every["environments"][0]["history"]] == [
        "ROLLBACK_REJECTED", "ROLLBACK", "UNLOCKED", "LOCKED"]

    table = ws.run("platform", "status", "--env", "dev")
    assert table.returncode == 0, table.stderr
    header, dev = (line for line in table.stdout.splitlines() if "│" in line or "┃" in line)
    cells = dict(zip([c.strip() for c in header.split("┃")[1:-1]],
                     [c.strip() for c in dev.split("│")[1:-1]], strict=True))
    assert cells["Promoted By"] == "alice"
    assert cells["Rolled Back By"].startswith("bob at ")
    assert cells["Version"] == "v1.0.0 (rollback)"

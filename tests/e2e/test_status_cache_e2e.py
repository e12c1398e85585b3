"""Security review §16 (in part): `status` trusted a manifest summary cache nothing sealed, so
whoever could write `.floe/` made it drop an environment (and its lock) from the table."""

from __future__ import annotations

import json
import sqlite3

import pytest


@pytest.mark.requirement("FR-031", "FR-035")
def test_an_edited_manifest_summary_is_not_what_status_shows(workspace) -> None:
    ws = workspace
    assert ws.run("platform", "lock", "--env", "prod", "--reason", "freeze").returncode == 0
    code, doc = ws.json("platform", "status")
    assert code == 0 and [r["environment"] for r in doc["environments"]] == [
        "dev", "staging", "prod"]
    cache = ws.root / ".floe" / "manifest-summary.json"
    doc = json.loads(cache.read_text())
    cache.write_text(json.dumps({**doc, "environments": ["dev", "staging"]}))  # prod hidden
    code, doc = ws.json("platform", "status")
    assert code == 0
    rows = doc["environments"]
    assert [r["environment"] for r in rows] == ["dev", "staging", "prod"]
    assert rows[2]["locked"] is True
    # The summary was validated again and sealed anew.
    assert json.loads(cache.read_text())["environments"] == ["dev", "staging", "prod"]


@pytest.mark.requirement("FR-031", "FR-026", "SC-003")
def test_an_edited_status_row_is_named_by_the_audit_and_rebuilt(sqlite_workspace) -> None:
    """Security review §16: `update floe_env_state set version=...` made status lie while
    `audit verify` passed."""
    ws = sqlite_workspace
    ws.push("v1.0.0")
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    with sqlite3.connect(ws.ledger) as db:
        db.execute("UPDATE floe_env_state SET version = 'v0.9.0-approved', "
                   "promoted_by = 'release-manager' WHERE environment = 'dev'")
    code, audit = ws.json("audit", "verify")
    assert code == 14, audit
    broken = [b for b in audit["breaks"] if b["kind"] == "views"]
    assert broken and "dev" in broken[0]["message"]
    assert "floe ledger rebuild" in broken[0]["message"]
    assert ws.run("ledger", "rebuild").returncode == 0
    code, audit = ws.json("audit", "verify")
    assert code == 0, audit
    code, doc = ws.json("platform", "status", "--env", "dev")
    rows = doc["environments"]
    assert rows[0]["version"] == "v1.0.0" and rows[0]["promoted_by"] == "ci-runner"


@pytest.mark.requirement("FR-031", "FR-035")
def test_status_checks_its_views_against_the_verified_events(sqlite_workspace) -> None:
    """Security review §16: status itself no longer shows an edited row, and says so."""
    ws = sqlite_workspace
    ws.push("v1.0.0")
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    assert ws.run("platform", "lock", "--env", "prod", "--reason", "freeze").returncode == 0
    with sqlite3.connect(ws.ledger) as db:
        db.execute("UPDATE floe_env_state SET version = 'v0.9.0-approved' "
                   "WHERE environment = 'dev'")
        db.execute("UPDATE floe_env_state SET locked = 0 WHERE environment = 'prod'")
    proc = ws.run("platform", "status", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["environment"]: r for r in json.loads(proc.stdout)["environments"]}
    assert rows["dev"]["version"] == "v1.0.0" and rows["prod"]["locked"] is True
    assert "status views differ" in proc.stderr
    assert ws.json("audit", "verify")[0] == 0  # folded again from the events

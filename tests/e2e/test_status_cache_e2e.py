"""Security review §16 (in part): `status` trusted a manifest summary cache nothing sealed, so
whoever could write `.floe/` made it drop an environment (and its lock) from the table."""

from __future__ import annotations

import json

import pytest


@pytest.mark.requirement("FR-031", "FR-035")
def test_an_edited_manifest_summary_is_not_what_status_shows(workspace) -> None:
    ws = workspace
    assert ws.run("platform", "lock", "--env", "prod", "--reason", "freeze").returncode == 0
    code, rows = ws.json("platform", "status")
    assert code == 0 and [r["environment"] for r in rows] == ["dev", "staging", "prod"]
    cache = ws.root / ".floe" / "manifest-summary.json"
    doc = json.loads(cache.read_text())
    cache.write_text(json.dumps({**doc, "environments": ["dev", "staging"]}))  # prod hidden
    code, rows = ws.json("platform", "status")
    assert code == 0
    assert [r["environment"] for r in rows] == ["dev", "staging", "prod"]
    assert rows[2]["locked"] is True
    # The summary was validated again and sealed anew.
    assert json.loads(cache.read_text())["environments"] == ["dev", "staging", "prod"]

"""Environment names with "-" and "_" (issue 14 item 4; FR-001a, CFG-08, CLI-01, TAG-02).

``pre-prod`` and ``us_east`` are environments like any other; a tag is read against the
configured names longest first, so ``v1.0.0-pre-prod`` is v1.0.0 in pre-prod (not
v1.0.0-pre in prod); a VERSION whose environment suffix is not the environment the command
names is a usage error (exit 2) naming both, never silently stripped.
"""

from __future__ import annotations

import json

import pytest

from support.workspace import Workspace, list_tags

PATH = [{"name": "dev"}, {"name": "pre-prod"}, {"name": "prod"}, {"name": "us_east"}]


def _ok(ws: Workspace, *args: str) -> dict:
    code, out = ws.json(*args)
    assert code == 0, out
    return dict(out)


@pytest.mark.requirement("FR-001a", "CFG-08", "CLI-01", "TAG-02", "TAG-03", "FR-002")
def test_names_with_dashes_and_underscores_promote_and_parse_longest_first(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.write_manifest(promotion={"environments": PATH})
    digest = ws.push("v1.0.0")
    _ok(ws, "platform", "promote", "v1.0.0", "--to", "dev")
    out = _ok(ws, "platform", "promote", "v1.0.0", "--from", "dev", "--to", "pre-prod")
    assert out["tags"] == ["v1.0.0-pre-prod", "latest-pre-prod"]

    # v1.0.0-pre-prod is v1.0.0 in pre-prod: nothing is in prod yet, not "v1.0.0-pre".
    code, out = ws.json("platform", "promote", "v9.9.9", "--from", "prod", "--to", "us_east")
    assert code == 3, out
    assert out["error"]["details"]["available_versions"] == []
    code, out = ws.json("platform", "promote", "v9.9.9", "--from", "pre-prod", "--to", "prod")
    assert code == 3 and out["error"]["details"]["available_versions"] == ["v1.0.0"]

    # The suffix of the environment the command names is accepted ...
    out = _ok(ws, "platform", "promote", "v1.0.0-pre-prod", "--from", "pre-prod", "--to", "prod")
    assert out["version"] == "v1.0.0" and out["artifact_digest"] == digest
    out = _ok(ws, "platform", "promote", "v1.0.0", "--from", "prod", "--to", "us_east")
    assert out["tags"] == ["v1.0.0-us_east", "latest-us_east"]
    assert {"v1.0.0-pre-prod", "latest-pre-prod", "v1.0.0-prod", "v1.0.0-us_east"} <= \
        list_tags(ws.registry_uri)
    code, status = ws.json("platform", "status")
    assert [(r["environment"], r["version"]) for r in status["environments"]] == [
        ("dev", "v1.0.0"), ("pre-prod", "v1.0.0"), ("prod", "v1.0.0"), ("us_east", "v1.0.0")]

    # ... another environment's is an error that names both, and nothing is recorded.
    before = ws.event_kinds()
    code, out = ws.json("platform", "promote", "v1.0.0-dev", "--from", "pre-prod", "--to",
                        "prod")
    assert code == 2, out
    assert out["error"]["message"] == ("v1.0.0-dev names environment dev, but the command "
                                       "gives --from pre-prod")
    code, out = ws.json("platform", "rollback", "v1.0.0-pre-prod", "--env", "prod",
                        "--reason", "x")
    assert code == 2 and "names environment pre-prod" in out["error"]["message"]
    assert "--env prod" in out["error"]["message"]
    code, out = ws.json("platform", "promote", "v1.0.0-dev", "--to", "dev")
    assert code == 2 and "no --from" in out["error"]["message"]
    assert ws.event_kinds() == before
    code, out = ws.json("audit", "verify", "--registry")
    assert code == 0 and out["drift"] == [], out


@pytest.mark.requirement("FR-001a", "CFG-08", "CFG-32")
def test_names_that_cannot_be_told_from_a_tag_are_refused(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    for name in ("Pre-Prod", "pre--prod", "pre-", "pre.prod", "prod-rollback-1", "x" * 32):
        ws.write_manifest(promotion={"environments": [{"name": "dev"}, {"name": name}]})
        code, out = ws.json("platform", "status")
        assert code == 2, (name, out)
        assert "not a valid environment name" in json.dumps(out["error"]), name


@pytest.mark.requirement("FR-001a", "CLI-01")
def test_init_and_completion_take_such_names(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    (ws.root / "manifest.yaml").unlink()
    code, out = ws.json("init", ws.registry_uri, "--plain-http", "--env", "dev,pre-prod,us_east")
    assert code == 0, out
    assert out["environments"] == ["dev", "pre-prod", "us_east"]
    proc = ws.run(env={"_FLOE_COMPLETE": "bash_complete",
                       "COMP_WORDS": "floe platform promote v1.0.0 --to ", "COMP_CWORD": "5"})
    assert proc.returncode == 0, proc.stderr
    offered = [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line]
    assert offered == ["dev", "pre-prod", "us_east"]
    code, out = ws.json("init", ws.registry_uri, "--plain-http", "--force", "--env", "dev,Pre")
    assert code == 2 and out["error"]["message"].startswith("--env:")

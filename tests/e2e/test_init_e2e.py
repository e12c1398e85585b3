"""`floe init` as a new user runs it: a commented manifest.yaml that `floe platform status`
works on at once, on a real registry and on both ledgers; an existing file is never
replaced without --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ledger.adapters.manifest.loader import load_manifest
from support.workspace import Workspace


def _fresh(ws: Workspace) -> Path:
    """The workspace without its manifest.yaml: where a new user starts."""
    path = ws.root / "manifest.yaml"
    path.unlink()
    return path


@pytest.mark.requirement("FR-001b", "CFG-01", "CFG-07", "FR-031")
def test_init_writes_a_manifest_status_runs_on_at_once(workspace: Workspace) -> None:
    path = _fresh(workspace)
    code, out = workspace.json("init", workspace.registry_uri, "--plain-http")
    assert code == 0, out
    assert out["success"] is True and out["trace_id"]
    assert out["manifest"] == str(path) and out["environments"] == ["dev", "staging", "prod"]
    assert out["replaced"] is False
    assert "floe platform promote v1.0.0 --to dev" in out["next_steps"]
    text = path.read_text()
    assert "# public_keys:" in text and "# trusted_issuers:" in text and "# gates:" in text
    assert load_manifest(path).artifacts.registry.uri == workspace.registry_uri

    code, doc = workspace.json("platform", "status")
    assert code == 0, doc
    rows = doc["environments"]
    assert [r["environment"] for r in rows] == ["dev", "staging", "prod"]
    assert all(r["version"] is None for r in rows)


@pytest.mark.requirement("FR-001a", "CFG-08")
def test_init_names_the_environments_in_order(sqlite_workspace: Workspace) -> None:
    workspace = sqlite_workspace
    _fresh(workspace)
    proc = workspace.run("init", workspace.registry_uri, "--plain-http",
                         "--env", "dev,qa", "--env", "prod")
    assert proc.returncode == 0, proc.stderr
    assert "environments dev -> qa -> prod" in proc.stdout
    assert "floe platform promote v1.0.0 --to dev" in proc.stdout
    proc = workspace.run("platform", "status")
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[1] for line in proc.stdout.splitlines()
            if line.startswith("│")] == ["dev", "qa", "prod"]


@pytest.mark.requirement("CFG-01")
def test_init_refuses_to_replace_a_manifest_unless_forced(tmp_path: Path,
                                                          sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    before = (ws.root / "manifest.yaml").read_bytes()
    code, out = ws.json("init", "oci-layout:./oci")
    assert code == 2, out
    assert out["error"]["code"] == "usage"
    assert "already exists" in out["error"]["message"]
    assert "--force" in out["error"]["hint"]
    assert (ws.root / "manifest.yaml").read_bytes() == before
    proc = ws.run("init", "oci-layout:./oci")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "hint:" in proc.stderr and "--force" in proc.stderr

    code, out = ws.json("init", "oci-layout:./oci", "--force")
    assert code == 0, out
    assert out["replaced"] is True
    assert load_manifest(ws.root / "manifest.yaml").artifacts.registry.uri == "oci-layout:./oci"
    code, rows = ws.json("platform", "status")
    assert code == 0, rows

    # Another path: the next steps name it, and status on it works.
    code, out = ws.json("init", "oci-layout:./oci", "--manifest", "deploy/manifest.yaml")
    assert code == 0, out
    assert "floe platform status --manifest deploy/manifest.yaml" in out["next_steps"]
    code, rows = ws.json("platform", "status", "--manifest", "deploy/manifest.yaml")
    assert code == 0, rows


@pytest.mark.requirement("CFG-01", "CFG-08")
@pytest.mark.parametrize("args", [["oci://registry.example.com/a/b", "--plain-http"],
                                  ["oci://bad host/x"], ["oci-layout:./oci", "--env", "Prod"],
                                  ["oci-layout:./oci", "--env", "dev,dev"]])
def test_init_refuses_what_would_not_work_and_writes_nothing(sqlite_workspace: Workspace,
                                                             args: list[str]) -> None:
    ws = sqlite_workspace
    _fresh(ws)
    code, out = ws.json("init", *args)
    assert code == 2, out
    assert out["error"]["hint"]
    assert not (ws.root / "manifest.yaml").exists()

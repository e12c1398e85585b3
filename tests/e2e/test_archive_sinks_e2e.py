"""Audit sinks found through the ``floe.audit_sinks`` entry point group: a third party's sink
installed beside floe is used without editing floe; floe's own registry sink keeps signed
checkpoints in the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from floe_ledger.adapters.archive.sinks import available, build_sink
from floe_ledger.domain.services.audit_sinks import AuditSink, SinkContext
from support.ledger_tamper import checkpoint_keys
from support.thirdparty_sink import install_folder_sink
from support.workspace import Workspace, list_tags

pytestmark = pytest.mark.requirement("FR-025", "ARCH-02")


def test_an_installed_distribution_s_sink_is_discovered(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    assert "folder" not in available()
    monkeypatch.syspath_prepend(str(install_folder_sink(tmp_path / "site")))
    found = available()
    assert {"s3", "registry", "folder"} <= set(found)
    assert found["folder"].dist is not None and found["folder"].dist.name == "floe-folder-sink"
    sink = build_sink("folder", {"path": str(tmp_path / "out")}, SinkContext())
    assert isinstance(sink, AuditSink) and sink.location() == f"folder:{tmp_path / 'out'}"


def test_the_floe_cli_archives_through_a_third_party_sink(sqlite_workspace: Workspace,
                                                          tmp_path: Path) -> None:
    ws = sqlite_workspace
    env = {"PYTHONPATH": str(install_folder_sink(tmp_path / "site"))}
    out = tmp_path / "archive"
    ws.write_manifest(audit={"folder": {"path": str(out)}})
    ws.push("v1.0.0")
    proc = ws.run("platform", "promote", "v1.0.0", "--to", "dev", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "audit archive" not in proc.stderr
    files = sorted(out.glob("events/*.jsonl"))
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert [e["position"] for e in lines] == list(range(1, len(ws.event_kinds()) + 1))
    code, status = ws.json("audit", "archive", env=env)
    assert code == 0 and status["written"] == 0 and status["pending"] == [], status
    assert status["sinks"] == [{"name": "folder", "location": f"folder:{out}",
                                "archived": len(files), "pending": 0}]


def test_a_sink_nobody_installed_is_named_with_the_installed_ones(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.write_manifest(audit={"tape": {"drive": "/dev/st0"}})
    ws.push("v1.0.0")
    proc = ws.run("platform", "promote", "v1.0.0", "--to", "dev")
    assert proc.returncode == 0, proc.stderr  # the archive never fails a promotion
    assert "no audit sink named 'tape'" in proc.stderr
    code, out = ws.json("audit", "archive")
    assert code == 2, out
    assert "installed: registry, s3" in out["error"]["message"]


@pytest.mark.requirement("ARCH-03")
def test_the_registry_sink_keeps_signed_checkpoints_in_the_registry(
        sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    ws.write_manifest(audit={"registry": {}})
    ws.push("v1.0.0")
    proc = ws.run("platform", "promote", "v1.0.0", "--to", "dev")
    assert proc.returncode == 0 and "audit archive" not in proc.stderr, proc.stderr
    key, _ = checkpoint_keys(tmp_path)
    code, out = ws.json("audit", "checkpoint", "--key", str(key), "-O", str(tmp_path / "cp.json"))
    assert code == 0, out
    tags = [t for t in list_tags(ws.registry_uri) if t.startswith("floe-checkpoint-")]
    assert len(tags) == 1
    again = ws.json("audit", "archive")[1]
    assert again["pending"] == [] and again["written"] == 0

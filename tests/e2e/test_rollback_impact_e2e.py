"""The rollback impact analysis tells the truth (issue 14 item 1), each step a `floe` process
against the real registry.

- a version an earlier rollback already undid is neither undone again nor a semver-major
  break; a file whose content changed is "changed", not absent;
- SAFE goes ahead; RISKY asks on a terminal and needs --yes otherwise (exit 2, nothing
  written); BLOCKED needs --force (exit 9);
- ``rollback --dry-run`` exits with the code the real rollback would.
"""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from support.workspace import FLOE, Workspace, list_tags, raw_manifest

IMPACT = pytest.mark.requirement("FR-013", "FR-014", "FR-015", "FR-016", "RB-01", "RB-03",
                                 "RB-05", "RB-07")


def _released(ws: Workspace, *versions: str, dependents: list | None = None) -> None:
    """Each version promoted into prod (the only environment), one file of the same name in
    each release."""
    ws.write_manifest(promotion={"environments": [{"name": "prod"}]},
                      dependents=dependents or [])
    for version in versions:
        ws.push(version)
        proc = ws.run("platform", "promote", version, "--to", "prod")
        assert proc.returncode == 0, proc.stderr


def _nothing_written(ws: Workspace, tags: set[str], events: list[str]) -> None:
    assert list_tags(ws.registry_uri) == tags
    assert ws.event_kinds() == events


@IMPACT
@pytest.mark.requirement("CLI-10", "EXIT-9")
def test_an_undone_version_is_not_undone_again_and_safe_needs_no_confirmation(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    _released(ws, "v1.2.3", "v1.2.4", "v2.0.0")
    tags, events = list_tags(ws.registry_uri), ws.event_kinds()

    # v2.0.0 -> v1.2.4 is RISKY (major 2 -> 1): off a terminal it needs --yes, and the dry
    # run exits as the real run would, with the error set.
    code, dry = ws.json("platform", "rollback", "v1.2.4", "--env", "prod", "--dry-run")
    assert code == 2, dry
    assert dry["success"] is False and dry["would_succeed"] is False
    assert dry["error"]["code"] == "usage" and "--yes" in dry["error"]["hint"]
    assert dry["impact_analysis"]["risk"] == "RISKY"
    assert [b["detail"] for b in dry["impact_analysis"]["breaking_changes"]] == [
        "major version 2 -> 1: APIs or schemas introduced in v2.0.0 disappear"]
    real = ws.run("platform", "rollback", "v1.2.4", "--env", "prod", "--reason", "bad 2.0")
    assert real.returncode == 2, real.stderr
    assert "RISKY" in real.stderr and "--yes" in real.stderr
    _nothing_written(ws, tags, events)
    code, out = ws.json("platform", "rollback", "v1.2.4", "--env", "prod", "--reason",
                        "bad 2.0", "--yes")
    assert code == 0, out
    assert out["rollback_tag"] == "v1.2.4-prod-rollback-1"

    # v1.2.4 -> v1.2.3 undoes only v1.2.4: v2.0.0 was undone already. Same major, the one
    # file changed (not absent): SAFE, no --yes needed.
    code, dry = ws.json("platform", "rollback", "v1.2.3", "--env", "prod", "--dry-run")
    assert code == 0, dry
    impact = dry["impact_analysis"]
    assert [u["version"] for u in impact["undone"]] == ["v1.2.4"]
    assert impact["undone"][0]["via"] == "rollback"
    assert impact["breaking_changes"] == []
    assert impact["risk"] == "SAFE" and dry["would_succeed"] is True and dry["error"] is None
    files = impact["diff"]["layers"]
    assert files["removed"] == [] and files["added"] == []
    assert [(c["name"], c["from_digest"] != c["to_digest"]) for c in files["changed"]] == [
        ("bundle.yaml", True)]
    text = ws.run("platform", "rollback", "v1.2.3", "--env", "prod", "--dry-run")
    assert text.returncode == 0, text.stderr
    assert "Impact analysis: SAFE" in text.stdout and "would succeed" in text.stdout
    assert "undoes 1 version(s): v1.2.4 " in text.stdout
    for wrong in ("v2.0.0", "major version", "absent"):
        assert wrong not in text.stdout, wrong
    assert "files with other content in v1.2.3: bundle.yaml" in text.stdout

    code, out = ws.json("platform", "rollback", "v1.2.3", "--env", "prod", "--reason",
                        "bad 1.2.4")
    assert code == 0, out
    assert ws.events("RolledBack")[-1]["impact"]["risk"] == "SAFE"
    v123 = raw_manifest(ws.registry_uri, "v1.2.3-prod")
    assert raw_manifest(ws.registry_uri, "latest-prod") == v123


@IMPACT
@pytest.mark.requirement("EXIT-9", "RB-02")
def test_a_blocked_dry_run_exits_9_like_the_real_rollback_and_force_overrides(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    _released(ws, "v1.0.0", "v1.1.0",
              dependents=[{"name": "orders-pipeline", "constraint": ">=1.1.0"}])
    tags, events = list_tags(ws.registry_uri), ws.event_kinds()
    code, dry = ws.json("platform", "rollback", "v1.0.0", "--env", "prod", "--dry-run")
    assert code == 9, dry
    assert dry["success"] is False and dry["error"]["code"] == "invalid_transition"
    assert dry["impact_analysis"]["risk"] == "BLOCKED"
    assert dry["blocking"][0]["exit_code"] == 9
    text = ws.run("platform", "rollback", "v1.0.0", "--env", "prod", "--dry-run", "--yes")
    assert text.returncode == 9  # --yes confirms RISKY, never BLOCKED
    assert "BLOCKED" in text.stdout and "orders-pipeline >=1.1.0 (BREAKS)" in text.stdout
    _nothing_written(ws, tags, events)
    real = ws.run("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad")
    assert real.returncode == 9 and "BLOCKED" in real.stderr
    assert ws.events("RollbackRejected")[-1]["code"] == "invalid_transition"
    forced = ws.run("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad",
                    "--force")
    assert forced.returncode == 0, forced.stderr


def _on_a_terminal(ws: Workspace, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``floe`` with a pseudo-terminal on stdin (stdout and stderr stay pipes): ``answer``
    is typed at the prompt."""
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([FLOE, *args], cwd=ws.root, env=ws.env, stdin=terminal,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(controller, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@IMPACT
def test_a_risky_rollback_asks_on_a_terminal_and_a_removed_file_makes_it_risky(
        sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    ws.write_manifest(promotion={"environments": [{"name": "prod"}]})
    for version, names in (("v1.0.0", ["app.yaml"]), ("v1.1.0", ["app.yaml", "tables.sql"])):
        folder = tmp_path / version
        folder.mkdir()
        for name in names:
            (folder / name).write_text(f"{name} of {version}\n")
        assert ws.run("artifact", "push", *(str(folder / n) for n in names),
                      version).returncode == 0
        assert ws.run("platform", "promote", version, "--to", "prod").returncode == 0
    tags, events = list_tags(ws.registry_uri), ws.event_kinds()
    args = ("platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad 1.1")

    no = _on_a_terminal(ws, "n", *args)
    assert no.returncode == 2, no.stderr
    assert "Impact analysis: RISKY" in no.stderr
    assert "files present now and absent in v1.0.0: tables.sql" in no.stderr
    assert "Roll prod back to v1.0.0?" in no.stderr and "not confirmed" in no.stderr
    assert no.stdout == ""
    _nothing_written(ws, tags, events)

    dry = _on_a_terminal(ws, "", *args[:5], "--dry-run")
    assert dry.returncode == 0, dry.stderr  # the real run would ask: not refused
    assert "would ask to confirm" in dry.stdout

    yes = _on_a_terminal(ws, "y", *args)
    assert yes.returncode == 0, yes.stderr
    assert "Rolled back prod to v1.0.0" in yes.stdout
    assert "Impact analysis" not in yes.stdout  # shown once, before the question
    event = ws.events("RolledBack")[-1]
    assert (event["version"], event["impact"]["risk"]) == ("v1.0.0", "RISKY")
    removed = event["impact"]["diff"]["layers"]["removed"]
    assert [r["title"] for r in removed] == ["tables.sql"]
    assert [c["name"] for c in event["impact"]["diff"]["layers"]["changed"]] == ["app.yaml"]

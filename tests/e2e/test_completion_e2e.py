"""Shell completion run the way a shell runs it: `floe` as a process with click's protocol
(`_FLOE_COMPLETE=bash_complete`, `COMP_WORDS`, `COMP_CWORD`), and the bash script sourced
in a real bash. Environment names come from manifest.yaml, versions from the ledger (both
backends); any error completes nothing, and the registry is never asked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.workspace import FLOE, Workspace

ENVS = [{"name": "dev"}, {"name": "qa"}, {"name": "prod"}]


def complete(ws: Workspace, words: str, *, shell: str = "bash",
             env: dict[str, str] | None = None) -> list[str]:
    """What floe offers for the last word of ``words`` (bash joins COMP_WORDS with spaces)."""
    cword = len(words.split(" ")) - 1
    proc = ws.run(env={"_FLOE_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
                       "COMP_CWORD": str(cword), **(env or {})})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line]


@pytest.mark.requirement("CLI-01", "CLI-09", "FR-001a")
def test_commands_and_environment_names_complete(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.write_manifest(promotion={"environments": ENVS})
    assert complete(ws, "floe pl") == ["platform"]
    assert {"init", "doctor", "completion"} <= set(complete(ws, "floe "))
    assert complete(ws, "floe platform promote v1.0.0 --to ") == ["dev", "qa", "prod"]
    assert complete(ws, "floe platform promote v1.0.0 --from q") == ["qa"]
    assert complete(ws, "floe platform status --env ") == ["dev", "qa", "prod"]
    assert complete(ws, "floe platform rollback v1.0.0 --env p") == ["prod"]
    assert complete(ws, "floe platform lock --env ") == ["dev", "qa", "prod"]
    assert complete(ws, "floe ledger adopt v1.0.0 --env d") == ["dev"]
    assert complete(ws, "floe audit history --env ") == ["dev", "qa", "prod"]
    # A --manifest typed earlier on the line is the one read.
    other = ws.root / "other.yaml"
    other.write_text("artifacts:\n  registry: {uri: oci-layout:./o}\n"
                     "  promotion:\n    environments: [{name: build}, {name: live}]\n")
    assert complete(ws, "floe platform promote --manifest other.yaml --to ") == ["build", "live"]
    assert complete(ws, "floe platform status --env ",
                    env={"FLOE_MANIFEST": str(other)}) == ["build", "live"]


@pytest.mark.requirement("CLI-01", "CLI-09")
def test_versions_complete_from_the_ledger(workspace: Workspace) -> None:
    ws = workspace
    for version in ("v1.0.0", "v1.1.0"):
        ws.push(version)
        code, out = ws.json("platform", "promote", version, "--to", "dev")
        assert code == 0, out
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 0, out

    assert complete(ws, "floe platform promote --from dev ") == ["v1.1.0", "v1.0.0"]
    assert complete(ws, "floe platform promote --from staging ") == ["v1.0.0"]
    assert complete(ws, "floe platform promote --from dev v1.1") == ["v1.1.0"]
    assert complete(ws, "floe platform rollback --env dev ") == ["v1.1.0", "v1.0.0"]
    assert complete(ws, "floe platform rollback --env prod ") == []
    # No environment on the line yet: every version the ledger knows, newest first.
    assert complete(ws, "floe platform promote ") == ["v1.0.0", "v1.1.0"]


@pytest.mark.requirement("CLI-01")
def test_completion_never_reaches_the_registry_client(sqlite_workspace: Workspace) -> None:
    """Run floe's main in-process the way the script runs it, then look at what it imported:
    the registry's HTTP client never is, so no registry can be asked."""
    ws = sqlite_workspace
    ws.push("v1.0.0")
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 0, out
    probe = ("import sys\nfrom floe_ledger.cli import main\ntry:\n    main()\n"
             "except SystemExit:\n    pass\nprint('httpx' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ws.root, capture_output=True,
                          text=True, timeout=60, env={
                              **ws.env, "_FLOE_COMPLETE": "bash_complete",
                              "COMP_WORDS": "floe platform rollback --env dev ", "COMP_CWORD": "5"})
    assert proc.stdout.split() == ["plain,v1.0.0"]
    assert proc.stderr.strip() == "False"


@pytest.mark.requirement("CLI-01")
def test_any_error_completes_nothing(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.push("v1.0.0")
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 0, out
    versions = "floe platform rollback --env dev "
    assert complete(ws, versions) == ["v1.0.0"]
    # The ledger is a shared PostgreSQL that does not answer.
    assert complete(ws, versions, env={
        "FLOE_LEDGER_URL": "postgresql://floe:pw@127.0.0.1:1/floe"}) == []
    # The ledger file is damaged.
    saved = ws.ledger.read_bytes()
    ws.ledger.write_bytes(b"not a database" * 100)
    assert complete(ws, versions) == []
    ws.ledger.write_bytes(saved)
    # manifest.yaml is broken, then missing.
    (ws.root / "manifest.yaml").write_text("artifacts: [\n")
    assert complete(ws, "floe platform promote v1.0.0 --to ") == []
    assert complete(ws, versions) == []
    (ws.root / "manifest.yaml").unlink()
    assert complete(ws, "floe platform promote v1.0.0 --to ") == []
    assert complete(ws, "floe pl") == ["platform"]


def _script(ws: Workspace, shell: str) -> Path:
    proc = ws.run("completion", shell)
    assert proc.returncode == 0, proc.stderr
    path = ws.root / f"floe.{shell}"
    path.write_text(proc.stdout)
    return path


@pytest.mark.requirement("CLI-01", "CLI-09")
def test_the_bash_script_loads_and_completes_in_a_real_bash(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.write_manifest(promotion={"environments": ENVS})
    script = _script(ws, "bash")
    bash = shutil.which("bash") or "/bin/bash"
    program = (f"source {script}\ncomplete -p floe\n"
               "COMP_WORDS=(floe platform promote v1.0.0 --to '')\nCOMP_CWORD=5\n"
               "_floe_completion floe\nprintf 'reply:%s\\n' \"${COMPREPLY[@]}\"\n")
    path = f"{Path(FLOE).parent}{os.pathsep}{ws.env['PATH']}"
    proc = subprocess.run([bash, "--norc", "--noprofile", "-c", program], cwd=ws.root,
                          capture_output=True, text=True, timeout=60,
                          env={**ws.env, "PATH": path})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "complete -o nosort -F _floe_completion floe"
    assert lines[1:] == ["reply:dev", "reply:qa", "reply:prod"]


@pytest.mark.requirement("CLI-01")
def test_zsh_and_fish_scripts_and_their_protocols(sqlite_workspace: Workspace) -> None:
    """zsh and fish are not installed where the tests run: the scripts' shape is checked,
    and floe's answers in each shell's format."""
    ws = sqlite_workspace
    ws.write_manifest(promotion={"environments": ENVS})
    zsh = _script(ws, "zsh").read_text()
    assert zsh.startswith("#compdef floe\n")
    assert "_FLOE_COMPLETE=zsh_complete floe" in zsh
    assert "compdef _floe_completion floe" in zsh
    fish = _script(ws, "fish").read_text()
    assert "_FLOE_COMPLETE=fish_complete" in fish
    assert 'complete --no-files --command floe --arguments "(_floe_completion)"' in fish

    words = "floe platform promote v1.0.0 --to "
    proc = ws.run(env={"_FLOE_COMPLETE": "zsh_complete", "COMP_WORDS": words, "COMP_CWORD": "5"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:9] == ["plain", "dev", "_", "plain", "qa", "_",
                                           "plain", "prod", "_"]
    proc = ws.run(env={"_FLOE_COMPLETE": "fish_complete", "COMP_WORDS": words,
                       "COMP_CWORD": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["plain,dev", "plain,qa", "plain,prod"]


@pytest.mark.requirement("FR-031")
def test_completion_command_output_and_refusal(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    code, out = ws.json("completion", "bash")
    assert code == 0, out
    assert out["success"] is True and out["trace_id"] and out["shell"] == "bash"
    assert "complete -o nosort -F _floe_completion floe" in out["script"]
    proc = ws.run("completion", "tcsh")
    assert proc.returncode == 2 and proc.stdout == ""
    proc = ws.run("completion", "--help")
    assert "Examples:" in proc.stdout and "floe completion zsh" in proc.stdout

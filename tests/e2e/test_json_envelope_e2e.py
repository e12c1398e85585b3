"""Every command's JSON is the one envelope, and a refusal's JSON joins the audit trail
(issue 14 item 3; FR-031, FR-033, FR-034, SC-008).

- Every leaf of the command tree, run with ``-o json``, prints ``success``, ``error`` and a
  non-empty ``trace_id``, on success and on failure (``floe schema`` and ``floe platform
  status`` included).
- A refusal names the operation its rejection event records (``promotion_id``, or
  ``operation_id`` for a rollback, lock or adoption) and the digest where it is known; a dry
  run blocked by a gate sets ``error`` as the real run does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pytest

from floe_ledger.cli.main import cli
from support.registry_server import RegistryServer
from support.workspace import Workspace, make_workspace

TRACE_ID = re.compile(r"[0-9a-f]{32}")

#: Harmless arguments for each command; a command that cannot succeed here must still fail
#: cleanly (a FloeError: the envelope, never click's usage text). A new command needs a row.
ARGS: dict[str, list[str]] = {
    "platform promote": ["v1.0.0", "--from", "dev", "--to", "staging", "--dry-run"],
    "platform status": ["--history", "3"],
    "platform rollback": ["v1.0.0", "--env", "dev", "--dry-run"],
    "platform lock": ["--env", "prod", "--reason", "walk"],
    "platform unlock": ["--env", "staging", "--reason", "walk"],
    "platform sync": [],                                   # no replicas: exit 2
    "artifact keygen": ["keys/walk"],
    "artifact push": ["walk.yaml", "v2.0.0"],
    "artifact sign": ["v1.0.0", "--key", "keys/signer.key"],
    "artifact verify": ["v0.0.1"],                         # no such tag: exit 3
    "artifact pull": ["v1.0.0", "-d", "pulled"],
    "artifact attach-bundle": ["v1.0.0", "bundle.json"],   # not a bundle
    "ledger init": [],
    "ledger rebuild": [],
    "ledger adopt": ["v1.0.0", "--env", "prod", "--reason", "walk"],  # no such tag: refused
    "audit verify": [],
    "audit replay": ["--as-of", "now"],
    "audit history": ["--limit", "2"],
    "audit export": ["-f", "jsonl", "-O", "export.jsonl"],
    "audit checkpoint": ["--key", "keys/signer.key", "-O", "checkpoint.json"],
    "audit archive": [],                                   # no audit sink configured: exit 2
    "whoami": [],
    "schema": [],
    "webhooks deliver": [],
    "webhooks status": [],
    "init": ["oci-layout:./walk-oci", "--manifest", "walk/manifest.yaml"],
    "doctor": [],
    "gc": ["--keep", "5", "--dry-run"],
    "completion": ["bash"],
    "metrics": ["--since", "7d"],
    "serve": ["--host", "0.0.0.0"],                        # not loopback: exit 2, no server
}


def leaves(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from leaves(command, f"{path} ")
        else:
            yield path


@pytest.fixture
def promoted(tmp_path: Path, registry_server: RegistryServer, repo_name: str) -> Workspace:
    ws = make_workspace(tmp_path, registry_server, repo_name)
    ws.push("v1.0.0")
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    assert ws.run("artifact", "keygen", "keys/signer").returncode == 0
    (ws.root / "walk.yaml").write_text("walk: true\n")
    (ws.root / "bundle.json").write_text("{}\n")
    return ws


@pytest.mark.requirement("FR-031", "FR-033", "FR-034", "SC-008", "JSON-05")
def test_every_command_prints_the_envelope_with_a_trace_id(promoted: Workspace) -> None:
    commands = list(leaves(cli))
    assert sorted(commands) == sorted(ARGS), "give each command harmless arguments in ARGS"

    def run(command: str) -> tuple[str, int, str, str]:
        proc = promoted.run(*command.split(), *ARGS[command], "-o", "json")
        return command, proc.returncode, proc.stdout, proc.stderr

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, commands))
    seen = set()
    for command, code, stdout, stderr in results:
        try:
            doc = json.loads(stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"{command}: stdout is not JSON (exit {code}):\n{stdout}\n"
                                 f"--- stderr ---\n{stderr}") from None
        assert isinstance(doc, dict), command
        assert doc["success"] is (code == 0), (command, code, doc)
        assert TRACE_ID.fullmatch(doc["trace_id"]), (command, doc)
        assert ("error" in doc) and (doc["error"] is None) == doc["success"], (command, doc)
        seen.add(doc["trace_id"])
    assert len(seen) == len(commands)  # one trace per run
    succeeded = {c for c, code, _, _ in results if code == 0}
    assert {"platform status", "schema", "whoami", "completion", "ledger rebuild",
            "webhooks status", "artifact keygen", "init", "metrics"} <= succeeded
    schema = json.loads(next(out for c, _, out, _ in results if c == "schema"))
    assert schema["schema"]["title"] == "floe manifest.yaml"


@pytest.mark.requirement("FR-031", "FR-033", "JSON-04", "CLI-17")
def test_status_prints_the_envelope_on_success_and_on_failure(workspace: Workspace) -> None:
    code, doc = workspace.json("platform", "status")
    assert code == 0
    assert doc["success"] is True and doc["error"] is None and TRACE_ID.fullmatch(doc["trace_id"])
    assert [r["environment"] for r in doc["environments"]] == ["dev", "staging", "prod"]
    code, doc = workspace.json("platform", "status", "--env", "qa")
    assert code == 2
    assert doc["success"] is False and doc["error"]["code"] == "usage"
    assert TRACE_ID.fullmatch(doc["trace_id"])
    plain = workspace.run("schema")  # -o table: the schema itself, for editors
    assert plain.returncode == 0 and json.loads(plain.stdout)["title"] == "floe manifest.yaml"


def _rejected(ws: Workspace, kind: str) -> dict:
    return ws.events(kind)[-1]


@pytest.mark.requirement("FR-034", "FR-048", "FR-027", "SC-008")
def test_a_refusal_names_its_operation_and_digest(workspace: Workspace) -> None:
    ws = workspace
    digest = ws.push("v1.0.0")
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0

    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "prod")
    assert code == 9, out
    assert out["promotion_id"] == _rejected(ws, "PromotionRejected")["promotion_id"]
    assert out["artifact_digest"] == digest

    code, out = ws.json("platform", "rollback", "v1.0.0", "--env", "staging", "--reason", "x")
    assert code == 11, out
    assert out["operation_id"] == _rejected(ws, "RollbackRejected")["promotion_id"]
    assert out["artifact_digest"] == digest

    code, out = ws.json("ledger", "adopt", "v1.0.0", "--env", "prod", "--reason", "x")
    assert code == 3, out
    assert out["operation_id"] == _rejected(ws, "PromotionRejected")["promotion_id"]
    assert out["artifact_digest"] == digest

    code, out = ws.json("platform", "rollback", "v7.0.0", "--env", "dev", "--reason", "x")
    assert code == 11, out
    assert out["operation_id"] and out["artifact_digest"] is None  # not known: said so

    before = ws.event_kinds()
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "prod",
                        "--dry-run")
    assert code == 9 and out["promotion_id"] and out["artifact_digest"] == digest
    assert ws.event_kinds() == before  # a dry run records nothing


@pytest.mark.requirement("FR-007", "SC-005", "FR-034", "JSON-02")
def test_a_blocked_dry_run_sets_error_like_the_real_run(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.write_manifest(promotion={
        "environments": [{"name": "dev"}, {"name": "staging", "gates": {"tests": True}}],
        "gate_commands": {"tests": {"command": ["python3", "-c", "raise SystemExit(1)"]}}})
    ws.push("v1.0.0")
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    args = ("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    dry_code, dry = ws.json(*args, "--dry-run")
    code, real = ws.json(*args)
    assert dry_code == code == 8
    assert dry["success"] is real["success"] is False
    assert {k: dry["error"][k] for k in ("code", "message", "hint")} == {
        k: real["error"][k] for k in ("code", "message", "hint")}
    assert dry["error"]["details"]["failed_gates"] == ["tests"]
    assert real["promotion_id"] == _rejected(ws, "PromotionRejected")["promotion_id"]

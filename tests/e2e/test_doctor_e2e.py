"""`floe doctor` against the real registry and both ledgers: one line per check, what to fix,
the exit code of the first failure, and nothing written to the ledger or the registry."""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from support.ledger_db import fresh_postgres_url
from support.registry_server import RegistryServer, free_port
from support.workspace import Workspace, docker_login, make_workspace

CHECKS = ["manifest", "registry", "ledger", "trust root", "gate commands"]
ISSUER = {"issuer": "https://token.actions.githubusercontent.com",
          "subject_regex": "^https://github\\.com/acme/.*$"}


def doctor(ws: Workspace, *args: str, env: dict[str, str] | None = None
           ) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    code, out = ws.json("doctor", *args, env=env)
    assert out["trace_id"], out
    assert out["summary"]["fail"] == sum(c["status"] == "fail" for c in out["checks"])
    return code, out, {c["name"]: c for c in out["checks"]}


def all_tags(ws: Workspace) -> list[str]:
    host, repo = ws.registry_uri.removeprefix("oci://").split("/", 1)
    with urllib.request.urlopen(f"http://{host}/v2/{repo}/tags/list", timeout=5) as resp:
        return sorted(json.loads(resp.read())["tags"])


@pytest.mark.requirement("SC-007", "SC-008", "FR-031", "JSON-05")
def test_doctor_on_a_working_setup_reports_and_writes_nothing(workspace: Workspace) -> None:
    ws = workspace
    code, out, checks = doctor(ws)
    assert code == 0, out
    if not ws.postgres:
        assert not ws.ledger.exists()  # doctor does not create the SQLite ledger
    assert checks["ledger"]["details"]["events"] == 0

    ws.push("v1.0.0")
    code, promoted = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 0, promoted
    tags, events = all_tags(ws), ws._rows()
    ledger_bytes = None if ws.postgres else hashlib.sha256(ws.ledger.read_bytes()).hexdigest()

    code, out, checks = doctor(ws)
    assert code == 0, out
    assert out["success"] is True and out["error"] is None
    assert list(checks) == CHECKS
    assert checks["manifest"]["status"] == "warn"  # enforcement off, with the fix
    assert "enforcement" in checks["manifest"]["hint"]
    registry = checks["registry"]
    assert registry["status"] == "ok", registry
    assert registry["details"]["referrers"] == "fallback"  # distribution 2.8: no referrers API
    assert "fallback index tags" in registry["message"] and "anonymous" in registry["message"]
    ledger = checks["ledger"]
    assert ledger["status"] == "ok", ledger
    assert ledger["details"]["kind"] == ("postgresql" if ws.postgres else "sqlite")
    assert ledger["details"]["shared"] is ws.postgres
    assert ledger["details"]["events"] == len(events) > 0
    assert ledger["details"]["schema_versions"] == ["v1"]
    assert ledger["details"]["missing_tables"] == []
    assert ("shared PostgreSQL" if ws.postgres else "local SQLite") in ledger["message"]
    assert checks["trust root"]["status"] == checks["gate commands"]["status"] == "ok"

    # Nothing written: the same tags (head anchors included), events and file bytes.
    assert all_tags(ws) == tags and ws._rows() == events
    if ledger_bytes is not None:
        assert hashlib.sha256(ws.ledger.read_bytes()).hexdigest() == ledger_bytes

    proc = ws.run("doctor")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[:6]] == ["warn", "fix:", "ok", "ok", "ok", "ok"]
    assert lines[-1] == "nothing to fix, 1 warning(s)"


@pytest.mark.requirement("SC-007", "SC-008", "EXIT-8")
def test_doctor_reports_every_problem_and_exits_with_the_first(
        sqlite_workspace: Workspace) -> None:
    """An unreachable registry (5) and a missing gate command (8): both lines say what to
    fix; the exit code is the first failure's."""
    ws = sqlite_workspace
    ws.write_manifest(
        registry={"uri": f"oci://127.0.0.1:{free_port()}/acme/app", "plain_http": True},
        promotion={"environments": [{"name": "dev"},
                                    {"name": "prod", "gates": {"tests": True, "lint": True,
                                                               "smoke": True}}],
                   "gate_commands": {"tests": {"command": [sys.executable, "-V"]},
                                     "lint": {"command": "no-such-linter --strict"}}})
    code, out, checks = doctor(ws)
    assert code == 5, out
    assert out["success"] is False
    assert out["error"]["code"] == "registry_unavailable"
    assert checks["registry"]["status"] == "fail" and checks["registry"]["exit_code"] == 5
    assert checks["registry"]["hint"]
    assert checks["ledger"]["status"] == "ok"
    gates = checks["gate commands"]
    assert gates["status"] == "fail" and gates["exit_code"] == 8
    assert gates["code"] == "gate_failed"
    assert "'no-such-linter' (lint in prod, gate_commands.lint) is not on PATH" in gates["message"]
    assert "gate 'smoke' is enabled for prod but" in gates["message"]
    assert gates["details"]["commands"][sys.executable] == sys.executable

    proc = ws.run("doctor")
    assert proc.returncode == 5
    assert proc.stdout.count("fix:") == 3  # enforcement off, the registry, the gates
    assert proc.stdout.splitlines()[-1] == "2 to fix, 1 warning(s)"

    # The registry fixed, the gate commands are what is left: exit 8.
    script = ws.root / "scripts" / "lint.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    ws.write_manifest(promotion={
        "environments": [{"name": "dev"}, {"name": "prod", "gates": {"lint": True}}],
        "gate_commands": {"lint": {"command": ["./scripts/lint.sh"]},
                          "unused": {"command": ["./scripts/missing.sh"]}}})
    code, out, checks = doctor(ws)
    assert code == 8, out
    assert "'./scripts/missing.sh' (gate_commands.unused) is not an executable file" in \
        checks["gate commands"]["message"]
    assert checks["gate commands"]["details"]["commands"]["./scripts/lint.sh"] == str(script)


@pytest.mark.requirement("SC-007", "EXIT-12", "FR-045")
def test_doctor_says_whether_the_registry_takes_the_credentials(
        tmp_path: Path, auth_registry_server: RegistryServer, repo_name: str) -> None:
    ws = make_workspace(tmp_path, auth_registry_server, repo_name)
    host = auth_registry_server.host
    code, out, checks = doctor(ws, env=docker_login(tmp_path, host, "alice", "alice-secret-pw"))
    assert code == 0, out
    assert "credentials accepted for alice" in checks["registry"]["message"]
    assert checks["registry"]["details"]["user"] == "alice"

    code, out, checks = doctor(ws, env=docker_login(tmp_path, host, "bob", "wrong"))
    assert code == 12, out
    assert out["error"]["code"] == "unauthorized"
    assert checks["registry"]["status"] == "fail"
    code, out, checks = doctor(ws)  # no credentials at all
    assert code == 12, out


@pytest.mark.requirement("SC-007", "CFG-32")
def test_a_manifest_that_does_not_load_is_exit_2_and_skips_what_needs_it(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.write_manifest(promotion={"enviroments": [{"name": "dev"}]})
    code, out, checks = doctor(ws)
    assert code == 2, out
    assert out["error"]["code"] == "config"
    assert "artifacts.promotion.enviroments" in checks["manifest"]["message"]
    assert [checks[n]["status"] for n in CHECKS] == ["fail", "skip", "ok", "skip", "skip"]

    ws.write_manifest()
    (ws.root / "manifest.yaml").write_text((ws.root / "manifest.yaml").read_text()
                                           + "promotion: {}\n")
    code, out, checks = doctor(ws)
    assert code == 0, out
    assert "top-level keys other than 'artifacts' are ignored: promotion" in \
        checks["manifest"]["message"]


@pytest.mark.requirement("SC-007", "FR-020", "CFG-06")
def test_doctor_checks_the_key_files_and_the_sigstore_trust_root(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    (ws.root / "keys").mkdir()
    (ws.root / "keys" / "cosign.pub").write_bytes(key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    registry = {"uri": ws.registry_uri, "plain_http": True, "verification": {
        "enforcement": "enforce", "public_keys": ["keys/cosign.pub"],
        "trusted_issuers": [ISSUER]}}
    ws.write_manifest(registry=registry)
    code, out, checks = doctor(ws)
    assert code == 0, out
    trust = checks["trust root"]
    assert trust["status"] == "ok"
    assert "key keys/cosign.pub (sha256:" in trust["message"]
    assert "Sigstore trust root: built-in production" in trust["message"]
    assert checks["manifest"]["status"] == "ok"  # enforce: nothing to warn about

    bad_root = ws.root / "trusted_root.json"
    bad_root.write_text('{"mediaType": "not a trusted root"}')
    (ws.root / "keys" / "cosign.pub").unlink()
    code, out, checks = doctor(ws, env={"FLOE_SIGSTORE_TRUST_ROOT": str(bad_root)})
    assert code == 2, out
    message = checks["trust root"]["message"]
    assert "cannot read public key" in message and "keys/cosign.pub" in message
    assert f"the Sigstore trust root {bad_root} does not parse" in message
    assert "floe artifact keygen" in checks["trust root"]["hint"]
    code, out, checks = doctor(ws, env={"FLOE_SIGSTORE_TRUST_ROOT": str(ws.root / "none.json")})
    assert code == 2, out
    assert "does not exist" in checks["trust root"]["message"]


@pytest.mark.requirement("SC-007", "FR-026")
def test_doctor_names_a_damaged_ledger_a_bad_url_and_ci_without_a_shared_ledger(
        sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    ws.ledger.parent.mkdir()
    ws.ledger.write_bytes(b"this is not a database " * 200)
    code, out, checks = doctor(ws)
    assert code == 14, out
    assert out["error"]["code"] == "integrity"
    assert "is damaged" in checks["ledger"]["message"]
    ws.ledger.unlink()

    code, out, checks = doctor(ws, env={"FLOE_LEDGER_URL": "mysql://x/y"})
    assert code == 2, out
    assert "FLOE_LEDGER_URL" in checks["ledger"]["message"]

    code, out, checks = doctor(ws, env={"CI": "true"})
    assert code == 0, out
    assert checks["ledger"]["status"] == "warn"
    assert "FLOE_LEDGER_URL" in checks["ledger"]["hint"]
    assert not ws.ledger.exists()


@pytest.mark.postgres
@pytest.mark.requirement("SC-007", "SC-008")
def test_doctor_says_a_shared_ledger_needs_floe_ledger_init(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    with fresh_postgres_url() as url:
        code, out, checks = doctor(ws, env={"FLOE_LEDGER_URL": url})
        assert code == 2, out
        ledger = checks["ledger"]
        assert ledger["details"]["shared"] is True
        assert "has no tables yet" in ledger["message"]
        assert "floe ledger init" in ledger["hint"]
        assert "ledger:" not in ledger["message"]  # the password is never shown
        assert ":ledger@" not in json.dumps(out)
        # Doctor created nothing: the tables are still missing.
        code, out, checks = doctor(ws, env={"FLOE_LEDGER_URL": url})
        assert code == 2 and "has no tables yet" in checks["ledger"]["message"]

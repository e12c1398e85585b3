"""Security review §9, §10, §18: what a gate command prints, sees and can reach.

A gate is code from the repository being promoted (a test suite, a scanner): it may print
credentials, and it runs as the same user as floe. These tests run `floe` as a subprocess
against a real registry, on SQLite and PostgreSQL, with a gate that does exactly that.
"""

from __future__ import annotations

import json
import re
import stat
import sys
import urllib.request
from pathlib import Path

import pytest

from support.workspace import all_tags, raw_manifest

PEM = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
       "-----END OPENSSH PRIVATE KEY-----")
LEAKS = {
    "url": "postgres://app:dbpw123@db/app",
    "bearer": "Authorization: Bearer eyJhbGciOi.s3cretpart.sig",
    "github": "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "aws": "AKIAIOSFODNN7EXAMPLE",
}
SECRET_BITS = ("dbpw123", "s3cretpart", "ghp_0123456789abcdef", "AKIAIOSFODNN7EXAMPLE",
               "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "passed-api-key-value",
               "hook-signing-secret", "ci-github-token-value", "x-honeycomb-team=hc_live",
               "sentrykey123", "ledger-db-password")
CALLER_ENV = {
    "APP_API_KEY": "passed-api-key-value",          # passed by the gate's env: list
    "HOOK_SECRET": "hook-signing-secret",           # a webhook's secret_env
    "GITHUB_TOKEN": "ci-github-token-value",
    "DATABASE_URL": "postgres://app:ledger-db-password@db/app",
    "OTEL_EXPORTER_OTLP_HEADERS": "x-honeycomb-team=hc_live_SECRET",
    "SENTRY_DSN": "https://sentrykey123@o1.ingest.sentry.io/1",
    "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
    "NPM_AUTH": "npm-auth-value",
    "GITHUB_SHA": "0123abcd",
    "FLOE_GATE_SUITE": "smoke",
}
GATE = f"""
import json, os, sys
print("connecting with {LEAKS['url']}")
print("token {LEAKS['github']} and {LEAKS['aws']}")
print({PEM!r})
print("api key is", os.environ.get("APP_API_KEY"))
print("{LEAKS['bearer']}", file=sys.stderr)
with open(os.path.join(os.environ["FLOE_GATE_OUT"], "gate-env.json"), "w") as out:
    json.dump({{"env": dict(os.environ), "cwd": os.getcwd()}}, out)
"""


def _gated(workspace, out_dir: Path):
    script = workspace.root / "leaky_gate.py"
    script.write_text(GATE)
    workspace.write_manifest(promotion={
        "environments": [{"name": "dev", "gates": {"tests": True}}, {"name": "staging"}],
        "gate_commands": {"tests": {"command": [sys.executable, str(script)],
                                    "env": ["APP_API_KEY"]}},
        "webhooks": [{"url": "http://127.0.0.1:9/hook", "secret_env": "HOOK_SECRET",
                      "retry_count": 0, "timeout_seconds": 1}],
    })
    workspace.env.update(CALLER_ENV, FLOE_GATE_OUT=str(out_dir))
    workspace.push("v1.0.0")
    return workspace


def _record_layers(registry_uri: str) -> str:
    """Every floe record's layer, read with the stdlib from the registry: the records are
    listed in the referrers fallback indexes (docker-registry has no referrers API) and in
    the environments' indexes."""
    host, repo = registry_uri.removeprefix("oci://").split("/", 1)
    found = []
    indexes = [t for t in all_tags(registry_uri)
               if re.fullmatch(r"floe-.+-index", t) or re.fullmatch(r"sha256-[0-9a-f]{64}", t)]
    records = {e["digest"] for tag in indexes
               for e in json.loads(raw_manifest(registry_uri, tag)[0])["manifests"]
               if e.get("artifactType", "").startswith("application/vnd.floe.")}
    assert records, "no floe record found"
    for digest in sorted(records):
        data, _, _ = raw_manifest(registry_uri, digest)
        manifest = json.loads(data)
        found.append(json.dumps(manifest))
        for layer in manifest["layers"]:
            url = f"http://{host}/v2/{repo}/blobs/{layer['digest']}"
            with urllib.request.urlopen(url, timeout=5) as resp:
                found.append(resp.read().decode())
    return "\n".join(found)


@pytest.mark.requirement("FR-011", "ENT-03", "CLI-07", "FR-023")
def test_gate_output_secrets_never_reach_the_ledger_the_record_or_the_output(
        workspace, tmp_path: Path) -> None:
    ws = _gated(workspace, tmp_path)
    proc = ws.run("platform", "promote", "v1.0.0", "--to", "dev", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    tests = next(g for g in out["gate_results"] if g["gate"] == "tests")
    assert "[REDACTED]" in tests["details"]["stdout_tail"]
    assert "postgres://[REDACTED]@db/app" in tests["details"]["stdout_tail"]
    assert "Bearer [REDACTED]" in tests["details"]["stderr_tail"]
    ledger = "\n".join(json.dumps(e) for kind in ("GatePassed", "GateFailed", "GateWarning")
                       for e in ws.events(kind))
    assert '"gate": "tests"' in ledger
    assert "stdout_tail" not in ledger and "stderr_tail" not in ledger  # output only (§9)
    records = _record_layers(ws.registry_uri)
    assert '"gate": "tests"' in records or '"gate":"tests"' in records
    assert "stdout_tail" not in records and "stderr_tail" not in records
    human = ws.run("platform", "history", "--env", "dev")
    for where, text in {"ledger": ledger, "record": records, "stdout": proc.stdout,
                        "stderr": proc.stderr, "history": human.stdout + human.stderr}.items():
        for bit in SECRET_BITS:
            assert bit not in text, f"{bit!r} reached the {where}"


@pytest.mark.requirement("FR-012", "CFG-23")
def test_a_gate_gets_an_allowlisted_environment_and_no_path_into_the_ledger(
        workspace, tmp_path: Path) -> None:
    ws = _gated(workspace, tmp_path)
    assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    seen = json.loads((tmp_path / "gate-env.json").read_text())
    env, floe_dir = seen["env"], (ws.root / ".floe").resolve()
    for name in ("GITHUB_TOKEN", "DATABASE_URL", "OTEL_EXPORTER_OTLP_HEADERS", "SENTRY_DSN",
                 "SSH_AUTH_SOCK", "NPM_AUTH", "HOOK_SECRET", "FLOE_LEDGER_URL",
                 "DOCKER_CONFIG"):
        assert name not in env, f"{name} reached the gate"
    assert env["APP_API_KEY"] == "passed-api-key-value"     # the manifest passes it
    assert env["GITHUB_SHA"] == "0123abcd" and env["FLOE_GATE_SUITE"] == "smoke"
    assert env["FLOE_ARTIFACT_TAG"] == "v1.0.0" and env["PATH"]
    for where in (seen["cwd"], env["TMPDIR"]):
        assert floe_dir not in Path(where).resolve().parents and Path(where) != floe_dir
    assert not Path(env["TMPDIR"]).exists()                  # removed after the gate
    if not ws.postgres:
        assert stat.S_IMODE(ws.ledger.stat().st_mode) == 0o600
        assert stat.S_IMODE(ws.ledger.parent.stat().st_mode) == 0o700
    assert ws.run("artifact", "keygen", str(tmp_path / "cp")).returncode == 0
    assert stat.S_IMODE((tmp_path / "cp.key").stat().st_mode) == 0o600
    checkpoint = tmp_path / "cp.json"
    made = ws.run("audit", "checkpoint", "--key", str(tmp_path / "cp.key"), "-O",
                  str(checkpoint))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600

"""Issue 13 item 6, the registry's side: a registry (or a proxy in front of it) whose error
message quotes the credential floe just sent. floe printed the registry's message as it
was, so the password reached the terminal, the JSON envelope and CI logs; it is masked now,
whether the credential came from FLOE_REGISTRY_PASSWORD or from Docker's config.json."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest

from floe_ledger.cli.main import cli
from support.cli_runs import FloeRuns
from support.hostile_server import HostileServer
from support.secret_scan import LeakScanner, Secret, files_under
from support.workspace import base_env, docker_login

USER = "floe-ci"


@pytest.mark.requirement("FR-045", "CLI-21", "EXIT-12")
@pytest.mark.parametrize("source", ["config.json", "FLOE_REGISTRY_PASSWORD"])
def test_a_registry_error_that_quotes_the_credential_is_masked(tmp_path: Path,
                                                                source: str) -> None:
    password = f"pw-{secrets.token_hex(12)}"
    basic = base64.b64encode(f"{USER}:{password}".encode()).decode()
    said = f"Authorization: Basic {basic} (user {USER}, password {password}) is not allowed"
    with HostileServer() as registry:
        registry.challenge = 'Basic realm="registry"'
        for method in ("GET", "PUT", "POST"):
            registry.route(method, "/v2/", 400, {"Content-Type": "application/json"},
                           json.dumps({"errors": [{"code": "DENIED", "message": said}]}).encode())
        (tmp_path / "manifest.yaml").write_text(
            f"artifacts:\n  registry:\n    uri: oci://{registry.host}/acme/app\n"
            "    plain_http: true\n")
        (tmp_path / "v1.0.0.yaml").write_text("release: v1.0.0\n")
        env = {**base_env(tmp_path), "FLOE_DEBUG": "1", "FLOE_LOG_LEVEL": "debug"}
        if source == "config.json":
            env.update(docker_login(tmp_path, registry.host, USER, password))
        else:
            env.update(FLOE_REGISTRY_USERNAME=USER, FLOE_REGISTRY_PASSWORD=password)
        floe = FloeRuns(tmp_path, env, cli)
        for output in ("table", "json"):
            floe.expect(12, "whoami", "-o", output)
            floe.expect(12, "platform", "promote", "v1.0.0", "--to", "dev", "-o", output)
            floe.expect(12, "platform", "lock", "--env", "prod", "--reason", "x", "-o", output)
        assert registry.authorizations(), "floe sent the credential the registry quotes"
    scanner = LeakScanner([Secret("registry password", password, user=USER)])
    for run in floe.runs:
        scanner.scan("stdout", run.label, run.stdout)
        scanner.scan("stderr", run.label, run.stderr)
    skip = tuple(p for p in tmp_path.iterdir() if p.name.startswith(".docker"))
    for path, data in files_under(tmp_path, skip):
        scanner.scan("files", str(path), data)
    print(f"\n{scanner.table()}")
    scanner.add_rows(f"Secrets: a registry error quoting the credential ({source})")
    assert not scanner.hits, "\n".join(scanner.hits)
    assert not floe.unexpected, "\n\n".join(floe.unexpected)
    assert any("registry answered DENIED: Authorization: Basic [REDACTED]" in r.stdout + r.stderr
               for r in floe.runs), "the registry's message is still quoted, masked"

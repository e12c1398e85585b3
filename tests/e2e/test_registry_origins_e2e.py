"""Security review §8, as a user meets it: `floe` against a hostile https registry whose
token realm is an http collector on another port; the password never leaves."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from support.hostile_server import HostileServer
from support.workspace import Workspace, base_env

SECRET = "S3cretPW!"


@pytest.mark.requirement("FR-045", "FR-032")
def test_whoami_refuses_to_send_basic_credentials_to_an_http_realm(tmp_path: Path) -> None:
    with HostileServer(tls=True) as registry, HostileServer() as collector:
        registry.challenge = f'Bearer realm="{collector.url("/token")}",service="reg"'
        uri = f"oci://{registry.host}/acme/app"
        ws = Workspace(tmp_path, uri, {"registry": {"uri": uri, "ca_file": str(registry.ca_file)}},
                       env=base_env(tmp_path) | {"FLOE_REGISTRY_USERNAME": "alice",
                                                 "FLOE_REGISTRY_PASSWORD": SECRET})
        ws.write_manifest()

        proc = ws.run("whoami", "-o", "json")

        assert proc.returncode == 12, proc.stdout + proc.stderr
        assert collector.seen == []  # before the fix: GET /token with Basic alice:S3cretPW!
        basic = base64.b64encode(f"alice:{SECRET}".encode()).decode()
        for text in (proc.stdout, proc.stderr):
            assert SECRET not in text and basic not in text
        assert "without https" in proc.stdout


@pytest.mark.requirement("CFG-01")
def test_plain_http_to_a_remote_registry_is_a_config_error(tmp_path: Path) -> None:
    uri = "oci://registry.example.com/acme/app"
    ws = Workspace(tmp_path, uri, {"registry": {"uri": uri, "plain_http": True}},
                   env=base_env(tmp_path) | {"FLOE_REGISTRY_USERNAME": "alice",
                                             "FLOE_REGISTRY_PASSWORD": SECRET})
    ws.write_manifest()

    proc = ws.run("whoami", "-o", "json")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "artifacts.registry.plain_http" in proc.stdout and "insecure_registries" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr

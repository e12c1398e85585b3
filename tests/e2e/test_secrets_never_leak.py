"""Issue 13 item 6: every `floe` command, run with secrets configured and FLOE_DEBUG=1, debug
JSON logs and OTLP and console spans, leaves no trace of them anywhere floe writes (stdout,
stderr, every file, ledger rows, every registry object, everything the OTLP collector and the
webhook receiver got but the HMAC signature), in any form (support.secret_scan.forms).

Secrets: the registry password (env for the primary, config.json for the replica) and a
wrong one, a valid and an expired OIDC token, a webhook signing secret and a URL token, an
OTLP header, a key password and a wrong one, ledger passwords (PostgreSQL: in FLOE_LEDGER_URL,
percent-encoded; both: in malformed URLs). Failing runs are there on purpose (wrong password,
expired token, registry down, refusals, a failing gate, webhooks down or 500, a dead
collector, malformed ledger URLs): error paths are where credentials leak.
"""

from __future__ import annotations

import secrets
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import yaml

from floe_ledger.cli.main import cli
from support.cli_runs import FloeRuns, leaf_commands
from support.oidc import OidcIssuer
from support.otlp_collector import OtlpCollector
from support.registry_server import RegistryServer, free_port, start_registry
from support.secret_scan import LeakScanner, RegistryReader, Secret, scan_everything
from support.sigstore_data import DSSE_BUNDLE
from support.webhook_server import WebhookServer
from support.workspace import ACCEPT, Workspace, base_env, docker_login

USER = "floe-ci"
PASSWORD = f"pw-{secrets.token_hex(12)}+/@"  # characters a URL or JSON encoder rewrites
SIGNATURE_HEADER = "x-floe-signature"  # an HMAC of the secret, not the secret: not scanned
GATE = "import os, sys; print('tests ran'); sys.exit('v1.1' in os.environ['FLOE_ARTIFACT_TAG'])"
SECRET_ENV = {"FLOE_REGISTRY_PASSWORD": "registry password", "FLOE_OIDC_TOKEN": "OIDC token",
              "WEBHOOK_HMAC_SECRET": "webhook secret", "FLOE_WEBHOOK_TOKEN": "webhook URL token",
              "FLOE_KEY_PASSWORD": "key password", "FLOE_CHECKPOINT_KEY_PASSWORD": "key password",
              "WRONG_KEY_PASSWORD": "wrong key password"}


@dataclass
class Setup:
    ws: Workspace
    floe: FloeRuns
    server: RegistryServer
    reader: RegistryReader
    hooks: WebhookServer
    collector: OtlpCollector
    secrets: dict[str, Secret]


@pytest.fixture
def secret_registry() -> Iterator[RegistryServer]:
    server = start_registry(users={USER: PASSWORD})
    yield server
    server.cleanup()


def _secrets(issuer: OidcIssuer) -> dict[str, Secret]:
    def made(prefix: str) -> str:
        return f"{prefix}-{secrets.token_hex(12)}"

    found = [Secret("registry password", PASSWORD, user=USER),
             Secret("wrong registry password", made("pw-wrong"), user=USER),
             Secret("OIDC token", issuer.token()),
             Secret("expired OIDC token", issuer.token(exp=int(time.time()) - 3600)),
             Secret("webhook secret", made("whsec")), Secret("webhook URL token", made("whtok")),
             Secret("OTLP header", made("otlp")), Secret("key password", made("kp")),
             Secret("wrong key password", made("kpw")), Secret("ledger password", made("pgpw"))]
    return {s.name: s for s in found}


def _with_password(url: str, password: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    encoded = urllib.parse.quote(password, safe="")
    return parts._replace(netloc=f"{parts.username}:{encoded}@{host}").geturl()


def _manifest(ws: Workspace, server: RegistryServer, hooks: WebhookServer,
              issuer: OidcIssuer) -> None:
    hook = {"events": ["promote", "rollback", "lock", "unlock", "reject"],
            "secret_env": "WEBHOOK_HMAC_SECRET", "retry_count": 0, "timeout_seconds": 2}
    doc = {"artifacts": {
        "registry": {"uri": ws.registry_uri, "plain_http": True, "verification": {
            "enforcement": "enforce", "public_keys": ["keys/signer.pub"]}},
        "replicas": [{"uri": server.uri("secrets/replica"), "plain_http": True}],
        "identity": {"oidc": issuer.config(), "groups": {"ci@acme.example": ["release"]}},
        "promotion": {
            "environments": [{"name": "dev"}, {"name": "staging"},
                             {"name": "prod", "gates": {"tests": True}, "authorization": {
                                 "allowed_groups": ["platform-admins"]}}],
            "gate_commands": {"tests": {"command": [sys.executable, "-c", GATE]}},
            "webhooks": [{"url": hooks.url("/hook") + "?token=${FLOE_WEBHOOK_TOKEN}", **hook},
                         {"url": hooks.url("/broken"), **hook},
                         {"url": f"http://127.0.0.1:{free_port()}/down", **hook}]},
    }}
    (ws.root / "manifest.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def setup(workspace: Workspace, secret_registry: RegistryServer) -> Iterator[Setup]:
    ws, root = workspace, workspace.root
    ws.registry_uri = secret_registry.uri("secrets/app")
    issuer = OidcIssuer(root)
    found = _secrets(issuer)
    env = {**base_env(root), **docker_login(root, secret_registry.host, USER, PASSWORD),
           **{var: found[name].value for var, name in SECRET_ENV.items()},
           "XDG_STATE_HOME": str(root / "xdg-state"), "CI": "true",
           "FLOE_REGISTRY_USERNAME": USER,
           "OTEL_EXPORTER_OTLP_HEADERS": f"x-api-key={found['OTLP header'].value}",
           "FLOE_DEBUG": "1", "FLOE_LOG_LEVEL": "debug", "FLOE_LOG_FORMAT": "json",
           "OTEL_TRACES_EXPORTER": "otlp,console"}
    if ws.postgres:  # the test server trusts any password: this one has URL delimiters
        user = urllib.parse.urlsplit(ws.env["FLOE_LEDGER_URL"]).username
        pg = Secret("ledger URL password", f"pgurl-{secrets.token_hex(12)}/?#@:", user=user)
        found[pg.name] = pg
        ws.env["FLOE_LEDGER_URL"] = env["FLOE_LEDGER_URL"] = _with_password(
            ws.env["FLOE_LEDGER_URL"], pg.value)
    with WebhookServer() as hooks, OtlpCollector() as collector:
        hooks.configure("/broken", status=500)
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.endpoint
        _manifest(ws, secret_registry, hooks, issuer)
        reader = RegistryReader(secret_registry.url, (USER, PASSWORD))
        yield Setup(ws, FloeRuns(root, env, cli), secret_registry, reader, hooks, collector,
                    found)


def _happy_path(s: Setup) -> None:
    floe, ws = s.floe, s.ws
    floe.ok("schema", "-O", "schema.json")
    floe.ok("init", ws.registry_uri, "--plain-http", "--manifest", "fresh/manifest.yaml")
    floe.ok("completion", "bash")
    floe.ok("ledger", "init")
    floe.ok("whoami", "-o", "json")
    floe.ok("artifact", "keygen", "keys/signer", "--password-env", "FLOE_KEY_PASSWORD")
    for version in ("v1.0.0", "v1.1.0", "v2.0.0"):
        (ws.root / version).mkdir()
        (ws.root / version / "release.yaml").write_text(f"release: {version}\n")
        floe.ok("artifact", "push", f"{version}/release.yaml", version, "-o", "json")
    for version in ("v1.0.0", "v1.1.0"):
        floe.ok("artifact", "sign", version, "--key", "keys/signer.key",
                "--password-env", "FLOE_KEY_PASSWORD")
    floe.ok("artifact", "attach-bundle", "v1.0.0", str(DSSE_BUNDLE))
    floe.ok("artifact", "verify", "v1.0.0", "--no-cache", "-o", "json")
    floe.ok("artifact", "pull", "v1.0.0", "-d", "pulled")
    floe.ok("platform", "promote", "v1.0.0", "--to", "dev", "-o", "json")
    floe.ok("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging", "--dry-run")
    floe.ok("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    floe.ok("platform", "promote", "v1.1.0", "--to", "dev")
    floe.ok("platform", "promote", "v1.1.0", "--from", "dev", "--to", "staging", "-o", "json")
    floe.ok("platform", "rollback", "v1.0.0", "--env", "staging", "--reason", "bad", "--dry-run")
    floe.ok("platform", "rollback", "v1.0.0", "--env", "staging", "--reason", "bad", "-o", "json")
    floe.ok("platform", "lock", "--env", "prod", "--reason", "freeze")
    floe.both(13, "platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod")
    floe.ok("platform", "unlock", "--env", "prod", "--reason", "thaw", "-o", "json")
    floe.ok("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod")
    pushed = s.reader.get("/v2/secrets/app/manifests/v2.0.0", ACCEPT)  # a hand-pushed tag
    assert pushed is not None
    s.reader.put_manifest("secrets/app", "v2.0.0-dev", pushed[0], pushed[1])
    floe.ok("ledger", "adopt", "v2.0.0", "--env", "dev", "--reason", "old pipeline")
    floe.ok("platform", "status", "--history", "20")
    floe.ok("platform", "sync", "--check", "-o", "json")
    floe.ok("platform", "sync")
    floe.ok("ledger", "rebuild")
    floe.ok("gc", "--keep", "1", "--dry-run", "-o", "json")
    floe.ok("gc", "--keep", "1")  # the running and the previous versions: nothing goes
    floe.ok("doctor", "-o", "json")
    floe.ok(env={"_FLOE_COMPLETE": "bash_complete", "COMP_CWORD": "4",  # reads the ledger
                 "COMP_WORDS": "floe platform rollback --env staging v"})


def _refusals(s: Setup) -> None:
    floe = s.floe
    floe.expect(9, "platform", "promote", "v1.1.0", "--to", "prod", "-o", "json")
    floe.both(8, "platform", "promote", "v1.1.0", "--from", "staging", "--to", "prod")
    floe.expect(3, "ledger", "adopt", "v9.9.9", "--env", "dev", "--reason", "no such tag")
    floe.both(2, "artifact", "sign", "v1.0.0", "--key", "keys/signer.key",
              "--password-env", "WRONG_KEY_PASSWORD")


def _credential_failures(s: Setup) -> None:
    floe, wrong = s.floe, s.secrets["wrong registry password"].value
    expired = {"FLOE_OIDC_TOKEN": s.secrets["expired OIDC token"].value}
    floe.both(12, "whoami", env=expired)
    floe.expect(12, "platform", "promote", "v1.1.0", "--to", "dev", "--force", env=expired)
    bad = {"FLOE_REGISTRY_PASSWORD": wrong, "FLOE_OIDC_TOKEN": None}
    floe.both(12, "whoami", env=bad)
    floe.both(12, "doctor", env=bad)
    floe.both(12, "platform", "promote", "v1.1.0", "--from", "staging", "--to", "prod", env=bad)
    floe.expect(12, "artifact", "pull", "v1.0.0", "-d", "pulled-wrong", "-o", "json", env=bad)
    floe.expect(12, "artifact", "push", "v1.0.0/release.yaml", "v9.0.0", env=bad)
    floe.expect(12, "audit", "verify", "--registry", env=bad)


def _registry_down(s: Setup) -> None:
    floe = s.floe
    s.server.stop()
    try:
        floe.both(5, "platform", "promote", "v1.1.0", "--from", "staging", "--to", "prod")
        floe.expect(5, "artifact", "verify", "v1.1.0", "--no-cache", "-o", "json")
        floe.expect(5, "audit", "verify", "--registry")
        floe.expect(5, "platform", "sync", "-o", "json")
        floe.expect(5, "whoami", env={"FLOE_OIDC_TOKEN": None})
        floe.expect(5, "doctor", "-o", "json")
    finally:
        s.server.start()


def _malformed_ledger_urls(s: Setup) -> None:
    """A password with an unencoded / ? # cuts the URL apart; no piece may be quoted."""
    floe, pw = s.floe, s.secrets["ledger password"].value
    for n, password in enumerate((f"5432/{pw}", f"5432?{pw}", f"{pw}/x", f"{pw}#x")):
        url = f"postgresql://ledger:{password}@127.0.0.1:1/ledger"
        output = ("-o", "json" if n % 2 else "table")
        floe.expect(2, "platform", "status", *output, env={"FLOE_LEDGER_URL": url})
    floe.expect(2, "audit", "verify", "--ledger", f"postgresql://ledger:5432/{pw}@127.0.0.1/x")
    down = f"postgresql://ledger:{urllib.parse.quote(pw + '/?#', safe='')}@127.0.0.1:1/ledger"
    floe.both(2, "ledger", "init", env={"FLOE_LEDGER_URL": down})
    floe.both(2, "doctor", env={"FLOE_LEDGER_URL": f"postgresql://ledger:{pw}/x@127.0.0.1/x"})


def _audit(s: Setup) -> None:
    floe, now = s.floe, datetime.now(UTC).isoformat()
    ledger = s.ws.env.get("FLOE_LEDGER_URL") or str(s.ws.ledger)
    floe.ok("audit", "checkpoint", "--key", "keys/signer.key", "-O", "checkpoint.json")
    floe.ok("audit", "verify", "--registry", "-o", "json")
    floe.ok("audit", "verify", "--checkpoint", "checkpoint.json", "--public-key",
            "keys/signer.pub")
    floe.ok("audit", "history", "--ledger", ledger)
    floe.ok("audit", "replay", "--as-of", now, "-o", "json")
    floe.ok("metrics", "--since", "3650d", "-o", "json")
    floe.ok("metrics", "--ledger", ledger)
    floe.ok("audit", "export", "-f", "jsonl", "-O", "exports/ledger.jsonl")
    floe.ok("audit", "export", "-f", "sqlite", "-O", "exports/ledger.sqlite")
    floe.ok("audit", "verify", "--export", "exports/ledger.jsonl")
    floe.ok("audit", "replay", "--as-of", now, "--export", "exports/ledger.jsonl")
    floe.expect(2, "audit", "history", "--export", "exports/ledger.sqlite")  # not JSON Lines
    dead_collector = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    floe.ok("audit", "verify", "-o", "json", env=dead_collector)
    floe.ok("webhooks", "deliver", "--deadline", "5", "-o", "json")
    floe.ok("webhooks", "status", "--all")
    floe.expect(2, "audit", "archive")  # no audit sink configured (tests/e2e/test_archive_e2e.py)
    # the dashboard's pages are scanned by tests/e2e/test_dashboard_http_e2e.py; here its
    # refusal to listen beyond loopback without --allow-remote
    floe.expect(2, "serve", "--host", "0.0.0.0")


def _scan(s: Setup) -> LeakScanner:
    scanner = LeakScanner(list(s.secrets.values()))
    scan_everything(scanner, runs=s.floe.runs, root=s.ws.root,
                    postgres_url=s.ws.env["FLOE_LEDGER_URL"] if s.ws.postgres else None,
                    registry=s.reader, otlp_bodies=s.collector.bodies,
                    webhooks=[(r.path, r.body, r.headers) for r in s.hooks.requests],
                    unscanned_header=SIGNATURE_HEADER)
    return scanner


@pytest.mark.requirement("FR-045", "FR-040", "FR-024", "FR-033", "FR-043", "CLI-21")
def test_no_secret_reaches_any_output_log_record_span_or_file(setup: Setup) -> None:
    _happy_path(setup)
    _refusals(setup)
    _credential_failures(setup)
    _registry_down(setup)
    _malformed_ledger_urls(setup)
    _audit(setup)
    scanner = _scan(setup)
    backend = "PostgreSQL" if setup.ws.postgres else "SQLite"
    ran = setup.floe.commands & leaf_commands(cli)
    print(f"\nsecrets scan, {backend} ledger: {len(setup.floe.runs)} floe runs of "
          f"{len(ran)} commands, {len(scanner.needles)} needles from "
          f"{len(setup.secrets)} secrets ({', '.join(setup.secrets)})")
    print(scanner.table())
    scanner.add_rows(f"Secrets never leak ({backend} ledger, {len(setup.floe.runs)} runs of "
                     f"{len(ran)} commands, {len(setup.secrets)} secrets)")
    assert not scanner.hits, "secrets leaked:\n" + "\n".join(scanner.hits)
    control = LeakScanner([setup.secrets["registry password"]])  # docker login's base64 form
    control.scan("control", "config.json", (setup.ws.root / ".docker-floe-ci" /
                                            "config.json").read_bytes())
    assert control.hits, "the scanner finds the Basic form where it is known to be"
    assert not setup.floe.unexpected, "\n\n".join(setup.floe.unexpected)
    missing = leaf_commands(cli) - setup.floe.commands
    assert not missing, f"commands this test never ran (give each a case): {sorted(missing)}"
    # the scan saw what it claims to: signed deliveries, exported spans, every store
    assert setup.hooks.requests and all(SIGNATURE_HEADER in r.headers
                                        for r in setup.hooks.requests)
    assert any(s.name == "floe.oci.promote" for s in setup.collector.spans)
    for source in ("registry objects", "ledger and caches (.floe)", "exports",
                   "state dir (XDG_STATE_HOME)", "webhook bodies"):
        assert scanner.sources[source].bytes > 0, f"nothing was scanned in {source}"

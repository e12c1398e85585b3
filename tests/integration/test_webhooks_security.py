"""Webhook secrets stay secret; plain http only to loopback or the allow-list (FR-040)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from floe_ledger.adapters.observability.structlog_setup import configure_logging
from floe_ledger.adapters.webhooks.delivery import deliver_pending, notify_after_command, outbox_for
from floe_ledger.domain.model.artifact_id import artifact_id
from floe_ledger.domain.model.config import WebhookConfig
from support.ledger_events import LedgerWriter
from support.webhook_server import WebhookServer

REPO = "oci://127.0.0.1:5999/acme/app"
TOKEN = "pd-token-7f3a9c1e5b"
HMAC_SECRET = "whsec-9b8a7c6d5e4f"
ENV = {"PD_TOKEN": TOKEN, "HOOK_SECRET": HMAC_SECRET}


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerWriter]:
    writer = LedgerWriter(tmp_path / ".floe" / "ledger.sqlite", REPO)
    yield writer
    writer.close()


@pytest.fixture
def server() -> Iterator[WebhookServer]:
    with WebhookServer() as running:
        yield running


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging({"FLOE_LOG_LEVEL": "debug"}, stream=stream)
    yield stream
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "floe"]:
        root.removeHandler(handler)
    structlog.reset_defaults()


def dump_db(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return json.dumps({t: [list(map(str, r)) for r in conn.execute(f"SELECT * FROM {t}")]
                           for t in tables})
    finally:
        conn.close()


@pytest.mark.requirement("FR-040", "WH-01")
def test_header_templates_are_expanded_from_the_environment_at_send_time(
    ledger: LedgerWriter, server: WebhookServer, logs: io.StringIO,
) -> None:
    ledger.lock("prod", "x")
    hooks = [WebhookConfig(url=server.url("/pd"), events=["lock"], retry_count=0,
                           header_env=["PD_TOKEN", "NOT_SET_ANYWHERE"], headers={
        "Authorization": "Token token=${PD_TOKEN}", "X-Team": "platform",
        "X-Missing": "${NOT_SET_ANYWHERE}"})]

    warnings = notify_after_command(ledger.store, REPO, hooks, ENV)

    (req,) = server.requests_for("/pd")
    assert req.headers["authorization"] == f"Token token={TOKEN}"
    assert req.headers["x-team"] == "platform"
    assert "x-missing" not in req.headers
    assert len(warnings) == 1 and "${NOT_SET_ANYWHERE}" in warnings[0]
    assert "left out" in warnings[0]


@pytest.mark.requirement("FR-040", "FR-043")
def test_secret_values_never_appear_in_warnings_logs_rows_or_errors(
    ledger: LedgerWriter, server: WebhookServer, logs: io.StringIO,
) -> None:
    server.configure("/fails", status=500)
    ledger.lock("prod", "x")
    hooks = [
        WebhookConfig(url=server.url("/fails"), retry_count=1, events=["lock"],
                      secret_env="HOOK_SECRET", headers={"Authorization": "Bearer ${PD_TOKEN}"},
                      header_env=["PD_TOKEN"]),
        # the secret is part of the URL itself (Slack-style), and the endpoint is down
        WebhookConfig(url="http://127.0.0.1:9/hooks/${PD_TOKEN}", retry_count=0, events=["lock"],
                      header_env=["PD_TOKEN"]),
    ]

    warnings = notify_after_command(ledger.store, REPO, hooks, ENV)

    assert len(warnings) == 2
    assert ledger.store.location.path is not None
    everything = "\n".join([*warnings, logs.getvalue(), dump_db(ledger.store.location.path)])
    assert "HTTP 500" in everything and "ConnectError" in everything
    assert TOKEN not in everything
    assert HMAC_SECRET not in everything
    # ...while the receiver did get them
    assert server.requests_for("/fails")[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.requirement("FR-040")
def test_plain_http_to_a_remote_host_is_refused_and_never_sent(ledger: LedgerWriter) -> None:
    ledger.lock("prod", "x")
    # a non-routable address: had it been called, the connect would hang until the timeout
    hooks = [WebhookConfig(url="http://10.255.255.1:8080/hook", events=["lock"],
                           timeout_seconds=5, retry_count=0)]
    started = time.monotonic()
    warnings = notify_after_command(ledger.store, REPO, hooks, {})
    assert time.monotonic() - started < 1.0
    assert len(warnings) == 1 and "plain http to 10.255.255.1 is refused" in warnings[0]
    assert ledger.store.location.path is not None
    conn = sqlite3.connect(ledger.store.location.path)
    attempts, last_error, delivered = conn.execute(
        "SELECT attempts, last_error, delivered_at FROM floe_webhook_outbox").fetchone()
    conn.close()
    assert attempts == 0 and delivered is None and "refused" in last_error


@pytest.mark.requirement("FR-040")
def test_a_missing_signing_secret_keeps_the_delivery_pending_instead_of_sending_unsigned(
    ledger: LedgerWriter, server: WebhookServer,
) -> None:
    ledger.lock("prod", "x")
    hooks = [WebhookConfig(url=server.url("/signed"), events=["lock"], retry_count=0,
                           secret_env="UNSET_SECRET")]
    warnings = notify_after_command(ledger.store, REPO, hooks, {})
    assert server.requests_for("/signed") == []
    assert "UNSET_SECRET is not set" in warnings[0]


@pytest.mark.requirement("FR-040", "WH-01")
def test_https_endpoints_are_verified_against_the_trusted_certificates(
    ledger: LedgerWriter,
) -> None:
    with WebhookServer(tls=True) as secure:
        ledger.lock("prod", "x")
        hooks = [WebhookConfig(url=secure.url("/tls"), events=["lock"], retry_count=0)]
        # not trusted: refused by certificate verification, stays pending
        warnings = notify_after_command(ledger.store, REPO, hooks, {})
        assert len(warnings) == 1 and "ConnectError" in warnings[0]
        assert secure.requests_for("/tls") == []
        # trusted through SSL_CERT_FILE: delivered
        with_ca = {"SSL_CERT_FILE": str(secure.ca_file)}

        with outbox_for(ledger.store, with_ca) as box:
            report = deliver_pending(box, str(artifact_id(REPO)), hooks, with_ca,
                                     due_only=False)
        assert report.warnings == [] and len(report.delivered) == 1
        assert secure.requests_for("/tls")[0].json()["event_type"] == "lock"


@pytest.mark.requirement("FR-040", "WH-01", "CFG-20")
def test_a_header_cannot_export_floes_own_secrets_and_a_replayed_delivery_does_not_verify(
    ledger: LedgerWriter, server: WebhookServer, logs: io.StringIO,
) -> None:
    """Security review §15 end to end against the real receiver."""
    ledger.lock("prod", "x")
    env = {**ENV, "FLOE_REGISTRY_PASSWORD": "hunter2-registry", "FLOE_WEBHOOK_TEAM": "platform"}
    hooks = [
        WebhookConfig(url=server.url("/exfil"), events=["lock"], retry_count=0,
                      secret_env="HOOK_SECRET", headers={
                          "X-Build-Info": "${FLOE_REGISTRY_PASSWORD}",   # not allowlisted
                          "X-Team": "${FLOE_WEBHOOK_TEAM}"}),            # FLOE_WEBHOOK_*
        WebhookConfig(url=server.url("/exfil-url?pw=${FLOE_REGISTRY_PASSWORD}"), events=["lock"],
                      retry_count=0),
    ]

    warnings = notify_after_command(ledger.store, REPO, hooks, env)

    (req,) = server.requests_for("/exfil")
    assert "x-build-info" not in req.headers and req.headers["x-team"] == "platform"
    assert not server.requests_for("/exfil-url")           # the URL was never called
    assert any("X-Build-Info" in w and "header_env" in w for w in warnings)
    assert "hunter2-registry" not in json.dumps([dict(r.headers) for r in server.requests]
                                                + warnings) + logs.getvalue()
    stamp, delivery = req.headers["x-floe-timestamp"], req.headers["x-floe-delivery"]
    assert abs(int(stamp) - time.time()) < 60

    def sig(ts: str, did: str, body: bytes) -> str:
        mac = hmac.new(HMAC_SECRET.encode(), f"{ts}.{did}.".encode() + body, hashlib.sha256)
        return "sha256=" + mac.hexdigest()

    assert hmac.compare_digest(req.headers["x-floe-signature"], sig(stamp, delivery, req.body))
    # a receiver that checks the signature rejects a replay under a new timestamp or id, and
    # the body alone (the old scheme) no longer reproduces it
    assert req.headers["x-floe-signature"] != sig(str(int(stamp) + 600), delivery, req.body)
    assert req.headers["x-floe-signature"] != sig(stamp, "another-id", req.body)
    body_only = "sha256=" + hmac.new(HMAC_SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-floe-signature"] != body_only

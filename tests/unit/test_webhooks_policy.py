"""URL policy, template expansion, signatures and payload mapping (FR-040..042, WH-02..05)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from floe_ledger.adapters.webhooks.outbox import MAX_ROUNDS, Delivery, retry_delay
from floe_ledger.adapters.webhooks.payloads import event_type_of, payload_for
from floe_ledger.adapters.webhooks.requests import display_url, expand, hmac_signature, refusal
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import EnvironmentLockedError
from floe_ledger.domain.model.identity import Actor

REPO = "oci://registry.example.com/acme/app"


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/services/T0/B0/x", "http://127.0.0.1:8080/h", "http://127.8.9.10/h",
    "http://localhost:9/h", "http://[::1]:9/h", "http://[::ffff:127.0.0.1]/h",
])
@pytest.mark.requirement("FR-040")
def test_https_and_loopback_are_allowed(url: str) -> None:
    assert refusal(url, {}) is None


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/h", "http://10.0.0.5/h", "ftp://hooks.example.com/h",
    "hooks.example.com/h", "http://localhost.evil.com/h", "https:///nohost",
])
@pytest.mark.requirement("FR-040")
def test_plain_http_elsewhere_and_other_schemes_are_refused(url: str) -> None:
    assert refusal(url, {}) is not None


@pytest.mark.requirement("FR-040")
def test_the_allow_list_opens_plain_http_for_named_hosts_only() -> None:
    env = {"FLOE_WEBHOOK_ALLOW_HTTP": "hooks.internal, Alerts.Local"}
    assert refusal("http://hooks.internal:8080/x", env) is None
    assert refusal("http://alerts.local/x", env) is None
    assert refusal("http://other.internal/x", env) is not None


def test_templates_expand_and_report_missing_names() -> None:
    assert expand("Bearer ${TOKEN}", {"TOKEN": "abc"}) == ("Bearer abc", [])
    assert expand("${A}-${B}", {"A": "1"}) == ("1-", ["B"])
    assert expand("no vars $HOME", {}) == ("no vars $HOME", [])


def test_urls_are_shown_without_paths_queries_or_credentials() -> None:
    assert display_url("https://user:pw@hooks.slack.com/services/T0/B0/secret?x=1") == \
        "https://hooks.slack.com/…"
    assert display_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert display_url("${SLACK_WEBHOOK_URL}") == "${SLACK_WEBHOOK_URL}"


@pytest.mark.requirement("FR-040")
def test_signature_is_hmac_sha256_of_timestamp_delivery_id_and_the_exact_body() -> None:
    body = b'{"event_type":"promote"}'
    expected = hmac.new(b"k3y", b"1733338800.d-1." + body, hashlib.sha256).hexdigest()
    assert hmac_signature(body, "k3y", "1733338800", "d-1") == f"sha256={expected}"
    assert hmac_signature(body, "k3y", "1733338801", "d-1") != f"sha256={expected}"


def test_retry_delay_doubles_from_a_minute_to_an_hour() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 7, 20)] == [60, 120, 240, 3600, 3600]


def test_delivery_states() -> None:
    base = Delivery("d", 1, "k", "lock", "{}")
    assert base.state == "pending"
    assert Delivery("d", 1, "k", "lock", "{}", rounds=MAX_ROUNDS).state == "failed"
    assert Delivery("d", 1, "k", "lock", "{}", delivered_at=1.0).state == "delivered"


@pytest.mark.requirement("FR-042", "WH-04", "WH-05")
def test_event_types_and_lock_payload() -> None:
    actor = Actor("bob", "ab" * 16)
    art = Artifact.register(REPO, actor=actor)
    art.lock("prod", "freeze", actor)
    art.reject(EnvironmentLockedError("prod is locked"), promotion_id="r1", version="v1",
               source=None, target="prod", actor=actor, action="rollback")
    registered, locked, rejected = art.collect_events()
    assert event_type_of(registered) is None
    assert event_type_of(locked) == "lock"
    assert event_type_of(rejected) == "reject"
    payload = payload_for(locked, "lock", repository=REPO, position=7)
    assert payload["event_type"] == "lock" and payload["environment"] == "prod"
    assert payload["locked"] is True and payload["locked_by"] == "bob"
    assert payload["trace_id"] == "ab" * 16 and payload["ledger_position"] == 7
    reject = payload_for(rejected, "reject", repository=REPO, position=8)
    assert reject["action"] == "rollback" and reject["rollback_id"] == "r1"

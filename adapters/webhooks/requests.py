"""Webhook requests: URL policy, ``${VAR}`` templates and the HMAC signature (FR-040, WH-01).

Only https is sent, except to loopback hosts (127.0.0.0/8, ::1, localhost) and hosts
listed in ``FLOE_WEBHOOK_ALLOW_HTTP`` (comma-separated). ``${VAR}`` in the URL and in header
values is expanded from the injected environment at send time, so only templates are
ever stored; a missing variable leaves its header out (a warning). Only variables named
``FLOE_WEBHOOK_*`` or listed in the endpoint's ``header_env`` are expanded (security
review §15): a header naming ``${FLOE_REGISTRY_PASSWORD}`` is left out with a warning, a
URL naming one is not called.

``secret_env`` signs the timestamp, the delivery id and the exact body (§15)::

    X-Floe-Timestamp: 1733338800                       (unix seconds when prepared)
    X-Floe-Delivery:  6f1c…                            (the same id on every retry)
    X-Floe-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<delivery id>." + body)>

A receiver recomputes the HMAC over those three, compares in constant time, rejects a
timestamp more than a few minutes old and remembers delivery ids it has processed, so a
captured delivery cannot be replayed. Expanded values and the signing secret are
registered with the log redactor and masked in error text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from floe_ledger.adapters.observability.redact import REDACTED, register_secret
from floe_ledger.adapters.system.net import is_loopback
from floe_ledger.adapters.webhooks.outbox import Delivery, Endpoint
from floe_ledger.domain.model.config import TEMPLATE_VAR, WebhookConfig

RESERVED = ("content-type", "user-agent", "x-floe-event", "x-floe-delivery", "x-floe-signature",
            "x-floe-timestamp")
_SENSITIVE_HEADER = re.compile(r"(?i)auth|token|key|secret|signature|cookie|password")


def expand(template: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """``template`` with every ``${VAR}`` replaced from ``env``, and the names that were unset."""
    missing = [name for name in TEMPLATE_VAR.findall(template) if name not in env]
    return TEMPLATE_VAR.sub(lambda m: env.get(m[1], ""), template), missing


def refused_vars(template: str, cfg: WebhookConfig) -> list[str]:
    """The ``${VAR}`` names in ``template`` this endpoint may not expand (§15)."""
    return [n for n in TEMPLATE_VAR.findall(template) if not cfg.may_expand(n)]


def display_url(url: str) -> str:
    """scheme://host[:port] and ``/…`` for any path: never credentials, paths or queries."""
    if url.strip().startswith("${"):
        return url.strip()
    try:
        parts = urlsplit(url.strip())
        port = f":{parts.port}" if parts.port else ""
        rest = "/…" if parts.path.strip("/") or parts.query else ""
        return f"{parts.scheme}://{parts.hostname or '?'}{port}{rest}"
    except ValueError:
        return "<unparsable url>"


def refusal(url: str, env: Mapping[str, str]) -> str | None:
    """Why ``url`` may not be called (https only, except loopback or the allow-list)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "the URL does not parse"
    scheme = parts.scheme.lower()
    if not host or scheme not in ("http", "https"):
        return "only https:// URLs are called"
    allowed = {h.strip().lower() for h in env.get("FLOE_WEBHOOK_ALLOW_HTTP", "").split(",")}
    if scheme == "https" or is_loopback(host) or host in allowed:
        return None
    return (f"plain http to {host} is refused; use https, or list the host in "
            "FLOE_WEBHOOK_ALLOW_HTTP")


def hmac_signature(body: bytes, secret: str, timestamp: str, delivery_id: str) -> str:
    """X-Floe-Signature: ``sha256=`` and HMAC-SHA256 of ``<timestamp>.<delivery id>.<body>``."""
    signed = f"{timestamp}.{delivery_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass
class Prepared:
    """A request ready to send, with the values to mask in any error text."""

    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""

    def scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def _secret(prep: Prepared, value: str) -> None:
    if value and len(value) >= 4:
        prep.secrets.append(value)
        register_secret(value)


def _headers(prep: Prepared, cfg: WebhookConfig, env: Mapping[str, str], label: str) -> None:
    for name, template in cfg.headers.items():
        if name.lower() in RESERVED:
            continue
        refused = refused_vars(template, cfg)
        if refused:
            prep.warnings.append(f"webhook {label}: header {name} names "
                                 f"{', '.join('${' + r + '}' for r in refused)}, which is "
                                 "neither FLOE_WEBHOOK_* nor listed in header_env; the header "
                                 "was left out")
            continue
        value, missing = expand(template, env)
        if missing:
            prep.warnings.append(f"webhook {label}: header {name} needs "
                                 f"{', '.join('${' + m + '}' for m in missing)}, which is not "
                                 "set; the header was left out")
            continue
        if value != template or _SENSITIVE_HEADER.search(name):
            _secret(prep, value)
        prep.headers[name] = value


def prepare_request(d: Delivery, ep: Endpoint, env: Mapping[str, str], label: str) -> Prepared:
    """URL, headers and signature for ``d``; ``error`` says why it must not be sent."""
    prep = Prepared()
    refused = refused_vars(ep.config.url, ep.config)
    if refused:
        prep.error = (f"the URL names {', '.join(refused)}, which is neither FLOE_WEBHOOK_* "
                      "nor listed in header_env")
        return prep
    url, missing = expand(ep.config.url, env)
    if url != ep.config.url:
        _secret(prep, url)
    if missing:
        prep.error = f"the URL needs {', '.join(missing)}, which is not set"
        return prep
    prep.error = refusal(url, env) or ""
    if prep.error:
        return prep
    prep.url = url
    _headers(prep, ep.config, env, label)
    prep.headers.update({"Content-Type": "application/json", "User-Agent": "floe-webhooks/1",
                         "X-Floe-Event": d.event_type, "X-Floe-Delivery": d.delivery_id})
    if ep.config.secret_env:
        secret = env.get(ep.config.secret_env, "")
        if not secret:
            prep.error = f"secret_env {ep.config.secret_env} is not set; not sent unsigned"
            return prep
        _secret(prep, secret)
        stamp = str(int(time.time()))
        prep.headers["X-Floe-Timestamp"] = stamp
        prep.headers["X-Floe-Signature"] = hmac_signature(d.payload.encode(), secret, stamp,
                                                          d.delivery_id)
    return prep


def endpoint_label(ep: Endpoint) -> str:
    """How an endpoint is named to users: its number and a URL with no path or secrets."""
    return f"#{ep.index} {display_url(ep.config.url)}"


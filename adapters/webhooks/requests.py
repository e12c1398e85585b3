"""Webhook requests: URL policy, ``${VAR}`` templates and the HMAC signature (FR-040, WH-01).

Only https is sent, except to loopback hosts (127.0.0.0/8, ::1, localhost) and hosts
listed in ``FLOE_WEBHOOK_ALLOW_HTTP`` (comma-separated). ``${VAR}`` in the URL and in header
values is expanded from the injected environment at send time, so only templates are
ever stored; a missing variable leaves its header out (a warning). ``secret_env`` signs
the exact body: ``X-Floe-Signature: sha256=<hex HMAC-SHA256>``. Expanded values and the
signing secret are registered with the log redactor and masked in error text.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from floe_ledger.adapters.observability.redact import REDACTED, register_secret
from floe_ledger.adapters.webhooks.outbox import Delivery, Endpoint
from floe_ledger.domain.model.config import WebhookConfig

RESERVED = ("content-type", "user-agent", "x-floe-event", "x-floe-delivery", "x-floe-signature")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SENSITIVE_HEADER = re.compile(r"(?i)auth|token|key|secret|signature|cookie|password")


def expand(template: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """``template`` with every ``${VAR}`` replaced from ``env``, and the names that were unset."""
    missing = [name for name in _VAR.findall(template) if name not in env]
    return _VAR.sub(lambda m: env.get(m[1], ""), template), missing


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


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


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
    if scheme == "https" or _loopback(host) or host in allowed:
        return None
    return (f"plain http to {host} is refused; use https, or list the host in "
            "FLOE_WEBHOOK_ALLOW_HTTP")


def hmac_signature(body: bytes, secret: str) -> str:
    """The X-Floe-Signature value: ``sha256=`` and the HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
        prep.headers["X-Floe-Signature"] = hmac_signature(d.payload.encode(), secret)
    return prep


def endpoint_label(ep: Endpoint) -> str:
    """How an endpoint is named to users: its number and a URL with no path or secrets."""
    return f"#{ep.index} {display_url(ep.config.url)}"


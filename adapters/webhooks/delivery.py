"""Webhook delivery from the outbox (FR-040..044, WH-01..10, SC-011).

    warnings = notify_after_command(store, repository, manifest.artifacts.promotion.webhooks,
                                    env)                 # at the end of promote/rollback/lock

Every endpoint is called in parallel (one thread per endpoint, each walking its queue in
ledger order) under ONE overall deadline; each request has the endpoint's
``timeout_seconds`` and is retried ``retry_count`` times with exponential backoff (or the
pause a ``Retry-After`` asks, if longer) while the deadline allows. Nothing here raises:
failures become warnings and the deliveries stay pending for ``floe webhooks deliver``.

What is sent (URL policy, ``${VAR}`` headers, the HMAC signature) is prepared by
:mod:`floe_ledger.adapters.webhooks.requests`; expanded values and the signing secret never
reach warnings, logs or the outbox's error text.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import certifi
import httpx

from floe_ledger.adapters.identity.process import LocalProcessProbe
from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.store.outbox_db import open_outbox
from floe_ledger.adapters.system.net import retry_after_seconds
from floe_ledger.adapters.webhooks.outbox import Delivery, Endpoint, Outbox, Outcome, endpoints
from floe_ledger.adapters.webhooks.requests import Prepared, endpoint_label, expand, prepare_request
from floe_ledger.domain.model.artifact_id import artifact_id
from floe_ledger.domain.model.config import WebhookConfig

log = get_logger("floe.webhooks")

DEFAULT_DEADLINE_SECONDS = 10.0
BACKOFF_SECONDS = 0.5
GRACE_SECONDS = 0.5
_TLS: dict[str, ssl.SSLContext] = {}


def _retryable(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def _send(client: httpx.Client, d: Delivery, ep: Endpoint, prep: Prepared,
          deadline: float) -> Outcome:
    """POST with retries and backoff, never past ``deadline`` (time.monotonic)."""
    attempts, status, error = 0, None, ""
    for i in range(ep.config.retry_count + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            break
        attempts += 1
        asked = None
        try:
            resp = client.post(prep.url, content=d.payload.encode(), headers=prep.headers,
                               timeout=min(ep.config.timeout_seconds, remaining))
            status, error = resp.status_code, f"HTTP {resp.status_code}"
            if 200 <= resp.status_code < 300:
                return Outcome(d.delivery_id, True, attempts, status)
            if not _retryable(resp.status_code):
                break
            asked = retry_after_seconds(resp.headers.get("Retry-After"))
        except httpx.HTTPError as exc:
            status, error = None, prep.scrub(f"{type(exc).__name__}: {exc}")
        pause = max(BACKOFF_SECONDS * 2 ** i, asked or 0.0)  # Retry-After, within the deadline
        if i == ep.config.retry_count or pause >= deadline - time.monotonic():
            break
        time.sleep(pause)
    if not attempts:
        return Outcome(d.delivery_id, None, error="the deadline passed before it was tried")
    return Outcome(d.delivery_id, False, attempts, status, error)


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Run:
    """One endpoint queue per thread; results are read once, at the deadline."""

    def __init__(self, env: Mapping[str, str], deadline: float) -> None:
        self.env, self.deadline = env, deadline
        self.results: dict[str, Outcome] = {}
        self.warnings: list[str] = []
        self.lock = threading.Lock()

    def queue(self, client: httpx.Client, ep: Endpoint, queue: list[Delivery]) -> None:
        label = endpoint_label(ep)
        for n, d in enumerate(queue):
            prep = prepare_request(d, ep, self.env, label)
            try:
                outcome = (Outcome(d.delivery_id, False, 0, None, prep.error) if prep.error
                           else _send(client, d, ep, prep, self.deadline))
            except Exception as exc:  # a delivery bug must not take the command down
                outcome = Outcome(d.delivery_id, False, 1, None,
                                  prep.scrub(f"{type(exc).__name__}: {exc}"))
            with self.lock:
                self.warnings.extend(w for w in prep.warnings if w not in self.warnings)
                self.results[d.delivery_id] = outcome
                if not outcome.ok:
                    self.warnings.append(_failure_text(label, d, outcome, len(queue) - n))
            log.info("webhook.attempted", endpoint=label, delivery=d.delivery_id,
                     event_type=d.event_type, ok=outcome.ok, status=outcome.status,
                     error=outcome.error, attempts=outcome.attempts)
            if not outcome.ok:
                return  # later events wait: an endpoint gets its events in order


def _failure_text(label: str, d: Delivery, o: Outcome, queued: int) -> str:
    what = f"{o.error} after {o.attempts} attempt(s)" if o.attempts else o.error
    more = f" ({queued} queued for it)" if queued > 1 else ""
    return (f"webhook {label}: {d.event_type} event not delivered: {what}; it stays pending"
            f"{more}, retry with 'floe webhooks deliver'")


def _https(url_template: str, env: Mapping[str, str]) -> bool:
    return expand(url_template, env)[0].strip().lower().startswith("https:")


def _tls_context(needed: bool, env: Mapping[str, str]) -> ssl.SSLContext:
    """Verifying TLS: the system trust store plus ``SSL_CERT_FILE`` from ``env`` (certifi
    when the system has none). With no https endpoint due, a context that trusts nothing
    (fails closed) and costs nothing, since loading a CA bundle takes 40 ms or more."""
    if not needed:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cafile = env.get("SSL_CERT_FILE", "")
    if cafile not in _TLS:
        ctx = ssl.create_default_context()
        if cafile:
            ctx.load_verify_locations(cafile=cafile)
        if not ctx.cert_store_stats()["x509_ca"]:
            ctx.load_verify_locations(cafile=certifi.where())
        _TLS[cafile] = ctx
    return _TLS[cafile]


def _queues(claimed: Sequence[Delivery]) -> dict[str, list[Delivery]]:
    queues: dict[str, list[Delivery]] = {}
    for d in claimed:
        queues.setdefault(d.endpoint_key, []).append(d)
    return queues


def deliver_pending(outbox: Outbox, stream: str, webhooks: Sequence[WebhookConfig],
                    env: Mapping[str, str], *, deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
                    due_only: bool = True, transport: httpx.BaseTransport | None = None,
                    ) -> DeliveryReport:
    """Deliver what is pending for ``stream``, all endpoints at once, within the deadline.

    Args:
        due_only: after a command, only queues with a delivery due; ``floe webhooks
            deliver`` passes False to retry everything not yet delivered.
        transport: an httpx transport (tests; proxies and TLS come from the environment).
    """
    started = time.monotonic()
    deadline = started + deadline_seconds
    eps = {ep.key: ep for ep in endpoints(webhooks)}
    claimed = outbox.claim(stream, eps, due_only=due_only, lease_seconds=deadline_seconds + 60)
    report = DeliveryReport()
    if not claimed:
        return report
    run = _Run(env, deadline)
    queues = _queues(claimed)
    tls = _tls_context(any(_https(eps[key].config.url, env) for key in queues), env)
    with httpx.Client(follow_redirects=False, transport=transport, verify=tls) as client:
        threads = {key: threading.Thread(target=run.queue, args=(client, eps[key], queue),
                                         name=f"floe-webhook-{eps[key].index}", daemon=True)
                   for key, queue in queues.items()}
        for t in threads.values():
            t.start()
        for t in threads.values():
            t.join(max(0.0, deadline + GRACE_SECONDS - time.monotonic()))
        with run.lock:
            results, report.warnings = dict(run.results), list(run.warnings)
    for key, t in threads.items():
        if t.is_alive():  # its current request had no answer in time: a failed round
            stuck = next(d for d in queues[key] if d.delivery_id not in results)
            results[stuck.delivery_id] = Outcome(
                stuck.delivery_id, False, 1, None, f"no answer within {deadline_seconds:g} s")
            report.warnings.append(_failure_text(endpoint_label(eps[key]), stuck,
                                                 results[stuck.delivery_id], 1))
    outcomes = [results.get(d.delivery_id, Outcome(d.delivery_id, None)) for d in claimed]
    outbox.record(outcomes)
    for o in outcomes:
        bucket = (report.delivered if o.ok else report.failed if o.ok is False
                  else report.not_attempted)
        bucket.append(o.delivery_id)
    report.seconds = time.monotonic() - started
    return report


OUTBOX_LOCK_KEY = 0x666C6F65_7768  # serialises the outbox DDL on a shared PostgreSQL


@contextmanager
def outbox_for(store: Any, env: Mapping[str, str]) -> Iterator[Outbox]:
    """The webhook outbox in the ledger's own database (SQLite file or PostgreSQL).

    Args:
        store: an EventStoreLedger (its ``location`` names the database).
        env: the injected environment (PGPASSWORD for PostgreSQL).
    """
    def make(conn: Any, placeholder: str, begin: str) -> Outbox:
        return Outbox(conn, placeholder=placeholder, begin=begin, probe=LocalProcessProbe())

    with open_outbox(store, env, make, lock_key=OUTBOX_LOCK_KEY) as outbox:
        yield outbox


def notify_after_command(store: Any, repository: str, webhooks: Sequence[WebhookConfig],
                         env: Mapping[str, str], *,
                         deadline_seconds: float = DEFAULT_DEADLINE_SECONDS) -> list[str]:
    """Enqueue the ledger's new events for ``repository`` and deliver them (never raises).

    Returns:
        Warnings for the user; empty when every delivery succeeded or none was configured.
    """
    if not webhooks:
        return []
    stream = str(artifact_id(repository))
    try:
        with outbox_for(store, env) as outbox:
            outbox.enqueue_new(store, endpoints(webhooks), stream=stream, repository=repository)
            return deliver_pending(outbox, stream, webhooks, env,
                                   deadline_seconds=deadline_seconds).warnings
    except Exception as exc:  # FR-043: webhooks never change the command's result
        log.info("webhook.outbox_failed", error=f"{type(exc).__name__}: {exc}")
        return [f"webhooks were not sent ({type(exc).__name__}); the events are safe in the "
                "ledger, retry with 'floe webhooks deliver'"]

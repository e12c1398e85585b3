"""The webhook outbox: deliveries derived from the ledger, kept in the ledger's database.

    outbox = Outbox(conn)          # sqlite3; psycopg: Outbox(conn, placeholder="%s", begin="BEGIN")
    outbox.create_schema()
    outbox.enqueue_new(store, endpoints(cfg.webhooks), stream=artifact_id, repository=repo)
    claimed = outbox.claim(artifact_id, {e.key for e in eps}, due_only=True, lease_seconds=40)
    outbox.record(outcomes)

Rows and the tracking position change in one transaction, and delivery ids are derived
from (event, endpoint), so a process that dies loses nothing and enqueues nothing twice.
Only endpoint keys (a hash of the configured URL), event types and payloads are stored;
header templates, secrets and timeouts are read from the manifest at send time.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from floe_ledger.adapters.store.outbox_db import LeaseProbe, OutboxTable, retry_delay

__all__ = ["Delivery", "Endpoint", "LeaseProbe", "Outbox", "Outcome", "endpoints", "retry_delay"]
from floe_ledger.adapters.webhooks.payloads import event_type_of, payload_for
from floe_ledger.domain.model.config import WebhookConfig
from floe_ledger.domain.model.events import ArtifactEvent

MAX_ROUNDS = 10  # automatic rounds before a delivery counts as failed
_NS = uuid.UUID("6f1c2a57-9d0e-4f63-8a34-3b0f5e7c9d21")
_COLUMNS = ("delivery_id, position, endpoint_key, event_type, payload, attempts, rounds, "
            "created_at, next_attempt_at, delivered_at, last_status, last_error")
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS floe_webhook_outbox (delivery_id TEXT PRIMARY KEY, "
    "stream TEXT NOT NULL, position BIGINT NOT NULL, endpoint_key TEXT NOT NULL, "
    "event_type TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "rounds INTEGER NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL, "
    "next_attempt_at DOUBLE PRECISION NOT NULL, lease_until DOUBLE PRECISION, "
    "delivered_at DOUBLE PRECISION, last_status INTEGER, last_error TEXT, lease_owner TEXT)",
    "CREATE INDEX IF NOT EXISTS floe_webhook_outbox_pending ON floe_webhook_outbox "
    "(stream, delivered_at, position)",
    "CREATE TABLE IF NOT EXISTS floe_webhook_tracking (name TEXT PRIMARY KEY, "
    "position BIGINT NOT NULL)",
]


class NotificationSource(Protocol):
    """The ledger's notification log (EventStoreLedger has both methods)."""

    def notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]: ...
    def max_position(self) -> int: ...


def endpoint_key(url: str) -> str:
    """A stable key for an endpoint: the hash of its configured URL (template)."""
    return hashlib.sha256(url.strip().encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Endpoint:
    """One configured webhook, numbered as in the manifest."""

    index: int
    config: WebhookConfig

    @property
    def key(self) -> str:
        return endpoint_key(self.config.url)


def endpoints(configs: Iterable[WebhookConfig]) -> list[Endpoint]:
    return [Endpoint(i, c) for i, c in enumerate(configs)]


@dataclass(frozen=True)
class Delivery:
    """One event for one endpoint, as stored."""

    delivery_id: str
    position: int
    endpoint_key: str
    event_type: str
    payload: str  # the exact request body
    attempts: int = 0
    rounds: int = 0
    created_at: float = 0.0
    next_attempt_at: float = 0.0
    delivered_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None

    @property
    def state(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        return "failed" if self.rounds >= MAX_ROUNDS else "pending"


@dataclass(frozen=True)
class Outcome:
    """What one delivery round did; ``ok`` is None when it was not attempted."""

    delivery_id: str
    ok: bool | None
    attempts: int = 0
    status: int | None = None
    error: str = ""


class Outbox(OutboxTable):
    """Webhook deliveries in the ledger database (constructor: :class:`OutboxTable`)."""

    def create_schema(self) -> None:
        for stmt in SCHEMA:
            self.conn.execute(stmt)
        self._add_lease_owner()
        self.conn.commit()

    def _add_lease_owner(self) -> None:
        """``lease_owner`` on an outbox made before it existed."""
        if self.ph == "%s":  # PostgreSQL
            self.conn.execute("ALTER TABLE floe_webhook_outbox ADD COLUMN IF NOT EXISTS "
                              "lease_owner TEXT")
            return
        columns = [row[1] for row in
                   self.conn.execute("PRAGMA table_info(floe_webhook_outbox)").fetchall()]
        if "lease_owner" not in columns:
            self.conn.execute("ALTER TABLE floe_webhook_outbox ADD COLUMN lease_owner TEXT")

    # ---- following the ledger --------------------------------------------------------

    def tracked_position(self, stream: str) -> int | None:
        row = self._x("SELECT position FROM floe_webhook_tracking WHERE name = ?",
                      (f"webhooks:{stream}",)).fetchone()
        return int(row[0]) if row else None

    def enqueue_new(self, source: NotificationSource, eps: Sequence[Endpoint], *, stream: str,
                    repository: str, page: int = 500, first_window_seconds: float = 900) -> int:
        """Turn the stream's events after the tracked position into deliveries.

        The first time a stream is followed, only events of the last
        ``first_window_seconds`` are announced (no flood of history on enabling webhooks).

        Returns:
            How many deliveries were added.
        """
        if self.tracked_position(stream) is None:
            start = self._first_position(source, page, first_window_seconds)
            self._transaction(lambda: self._track(stream, start, only_if_absent=True))
        added = 0
        while True:
            batch = source.notifications((self.tracked_position(stream) or 0) + 1, page)
            if not batch:
                return added
            added += int(self._transaction(partial(self._enqueue, batch, eps, stream, repository)))

    def _first_position(self, source: NotificationSource, page: int, window: float) -> int:
        cutoff = self.clock() - window
        top = source.max_position()
        while top > 0:
            low = max(1, top - page + 1)
            old = [p for p, e in source.notifications(low, page)
                   if p <= top and e.timestamp.timestamp() < cutoff]
            if old:
                return max(old)
            top = low - 1
        return 0

    def _track(self, stream: str, position: int, *, only_if_absent: bool = False) -> None:
        update = "NOTHING" if only_if_absent else (
            "UPDATE SET position = excluded.position "
            "WHERE floe_webhook_tracking.position < excluded.position")  # never backwards
        self._x(f"INSERT INTO floe_webhook_tracking (name, position) VALUES (?, ?) "  # noqa: S608
                f"ON CONFLICT (name) DO {update}", (f"webhooks:{stream}", position))

    def _enqueue(self, batch: list[tuple[int, ArtifactEvent]], eps: Sequence[Endpoint],
                 stream: str, repository: str) -> int:
        current = self.tracked_position(stream) or 0
        fresh = [(pos, e) for pos, e in batch if pos > current]
        added = 0
        for pos, event in fresh:
            if str(event.originator_id) != stream:
                continue
            added += self._insert(pos, event, eps, repository)
        if fresh:
            self._track(stream, fresh[-1][0])
        return added

    def _insert(self, pos: int, event: ArtifactEvent, eps: Sequence[Endpoint],
                repository: str) -> int:
        kind = event_type_of(event)
        wanted = [ep for ep in eps if kind is not None and kind in ep.config.events]
        if not wanted or kind is None:
            return 0
        body = json.dumps(payload_for(event, kind, repository=repository, position=pos),
                          separators=(",", ":"), ensure_ascii=False, default=str)
        now = self.clock()
        for ep in wanted:
            did = str(uuid.uuid5(_NS, f"{event.originator_id}:{event.originator_version}:{ep.key}"))
            self._x("INSERT INTO floe_webhook_outbox (delivery_id, stream, position, endpoint_key, "
                    "event_type, payload, created_at, next_attempt_at) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING",
                    (did, str(event.originator_id), pos, ep.key, kind, body, now, now))
        return len(wanted)

    # ---- delivering ------------------------------------------------------------------

    def deliveries(self, stream: str, *, include_delivered: bool = False,
                   limit: int = 1000) -> list[Delivery]:
        """Deliveries of ``stream`` in ledger order (undelivered only, unless asked)."""
        where = "" if include_delivered else " AND delivered_at IS NULL"
        rows = self._x(f"SELECT {_COLUMNS} FROM floe_webhook_outbox WHERE stream = ?{where} "  # noqa: S608
                       "ORDER BY position, delivery_id LIMIT ?", (stream, limit)).fetchall()
        return [Delivery(*row) for row in rows]

    def claim(self, stream: str, keys: Iterable[str], *, due_only: bool,
              lease_seconds: float) -> list[Delivery]:
        """Lease the deliveries to attempt now, per endpoint in ledger order.

        An endpoint's queue is taken whole from its head, and only if some row is due
        (``due_only``); a row leased by another live process ends that endpoint's queue, so an
        endpoint never receives a later event before an earlier one. Failed rows (after
        MAX_ROUNDS) do not hold the queue up, and are retried only when not ``due_only``.
        """
        now, wanted = self.clock(), set(keys)
        queues: dict[str, list[Delivery]] = {}
        for d in self.deliveries(stream):
            if d.endpoint_key in wanted and (not due_only or d.state == "pending"):
                queues.setdefault(d.endpoint_key, []).append(d)
        due = [q for q in queues.values()
               if not due_only or any(d.next_attempt_at <= now for d in q)]
        orphaned = self._orphaned(stream, now)
        return list(self._transaction(
            lambda: self._lease(due, now, now + lease_seconds, orphaned)))

    def _orphaned(self, stream: str, now: float) -> dict[str, str]:
        """Deliveries still leased by a process that is gone: delivery id → its owner."""
        if self.probe is None:
            return {}
        rows = self._x("SELECT delivery_id, lease_owner FROM floe_webhook_outbox WHERE stream"
                       " = ? AND delivered_at IS NULL AND lease_until >= ? AND lease_owner IS "
                       "NOT NULL", (stream, now)).fetchall()
        return {str(did): str(owner) for did, owner in rows if self.probe.alive(owner) is False}

    def _lease(self, queues: list[list[Delivery]], now: float, until: float,
               orphaned: Mapping[str, str]) -> list[Delivery]:
        owner = self.probe.owner() if self.probe is not None else None
        claimed: list[Delivery] = []
        for queue in queues:
            for d in queue:
                cur = self._x("UPDATE floe_webhook_outbox SET lease_until = ?, lease_owner = ? "
                              "WHERE delivery_id = ? AND delivered_at IS NULL AND (lease_until "
                              "IS NULL OR lease_until < ? OR lease_owner = ?)",
                              (until, owner, d.delivery_id, now, orphaned.get(d.delivery_id)))
                if cur.rowcount != 1:
                    break
                claimed.append(d)
        return claimed

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Store what a round did and release the leases."""
        items, now = list(outcomes), self.clock()

        def write() -> None:
            rounds = self._rounds([o.delivery_id for o in items if o.ok is False])
            for o in items:
                if o.ok:
                    self._x("UPDATE floe_webhook_outbox SET delivered_at = ?, attempts = attempts"
                            " + ?, last_status = ?, last_error = NULL, lease_until = NULL WHERE "
                            "delivery_id = ?", (now, o.attempts, o.status, o.delivery_id))
                elif o.ok is False:
                    delay = retry_delay(rounds.get(o.delivery_id, 0) + 1)
                    self._x("UPDATE floe_webhook_outbox SET attempts = attempts + ?, rounds = "
                            "rounds + 1, next_attempt_at = ?, last_status = ?, last_error = ?, "
                            "lease_until = NULL WHERE delivery_id = ?",
                            (o.attempts, now + delay, o.status, o.error[:500], o.delivery_id))
                else:
                    self._x("UPDATE floe_webhook_outbox SET lease_until = NULL WHERE "
                            "delivery_id = ?", (o.delivery_id,))

        self._transaction(write)

    def _rounds(self, ids: list[str]) -> Mapping[str, int]:
        found: dict[str, int] = {}
        for did in ids:
            row = self._x("SELECT rounds FROM floe_webhook_outbox WHERE delivery_id = ?",
                          (did,)).fetchone()
            found[did] = int(row[0]) if row else 0
        return found

    def prune_delivered(self, older_than_seconds: float = 30 * 86400) -> int:
        """Forget deliveries made more than ``older_than_seconds`` ago; returns how many."""
        cutoff = self.clock() - older_than_seconds
        cur = self._transaction(lambda: self._x(
            "DELETE FROM floe_webhook_outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?",
            (cutoff,)))
        return max(0, int(cur.rowcount))

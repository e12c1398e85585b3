"""The archive outbox: objects still to write to each sink, kept in the ledger's database.

    box = ArchiveOutbox(conn)            # sqlite3; psycopg: placeholder="%s", begin="BEGIN"
    box.create_schema()
    box.enqueue_events(store, ["s3"])    # new events since each sink's tracked position
    box.enqueue(checkpoint_object(doc), ["s3", "registry"])
    for item in box.claim(["s3"], due_only=True, lease_seconds=70): ...
    box.record(outcomes)

The same pattern as the webhook outbox (adapters/webhooks/outbox.py, on the shared
:class:`~floe_ledger.adapters.store.outbox_db.OutboxTable`): the rows of a batch and the
sink's tracking position change in one transaction, and keys are derived from positions and
content, so a process that dies loses nothing and queues nothing twice. An object stays
until a sink confirmed it; a failure is retried after 1 min doubling to 1 h, and
``floe audit archive`` retries everything at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from floe_ledger.adapters.archive.objects import events_object
from floe_ledger.adapters.store.outbox_db import OutboxTable, retry_delay
from floe_ledger.domain.services.audit_sinks import ArchiveObject
from floe_ledger.projections.audit import RawEvent

BATCH_EVENTS = 500  # events per archived object
SCHEMA = [
    "CREATE TABLE IF NOT EXISTS floe_archive_outbox (sink TEXT NOT NULL, object_key TEXT "
    "NOT NULL, kind TEXT NOT NULL, first_position BIGINT, last_position BIGINT, sha256 TEXT "
    "NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, created_at DOUBLE "
    "PRECISION NOT NULL, next_attempt_at DOUBLE PRECISION NOT NULL, lease_until DOUBLE "
    "PRECISION, lease_owner TEXT, archived_at DOUBLE PRECISION, last_error TEXT, "
    "PRIMARY KEY (sink, object_key))",
    "CREATE INDEX IF NOT EXISTS floe_archive_outbox_pending ON floe_archive_outbox "
    "(archived_at, first_position)",
    "CREATE TABLE IF NOT EXISTS floe_archive_tracking (name TEXT PRIMARY KEY, "
    "position BIGINT NOT NULL)",
]
_COLUMNS = ("sink, object_key, kind, first_position, last_position, sha256, body, attempts, "
            "next_attempt_at, archived_at, last_error")


class RawSource(Protocol):
    """The ledger's rows as stored (EventStoreLedger)."""

    def raw_notifications(self, start: int, limit: int) -> list[RawEvent]: ...


class HeadSource(Protocol):
    """The ledger's newest notification position (EventStoreLedger)."""

    def max_position(self) -> int: ...


@dataclass(frozen=True)
class Pending:
    """One object for one sink, as stored in the outbox."""

    sink: str
    key: str
    kind: str
    first_position: int | None
    last_position: int | None
    sha256: str
    body: str
    attempts: int = 0
    next_attempt_at: float = 0.0
    archived_at: float | None = None
    last_error: str | None = None

    def object(self) -> ArchiveObject:
        return ArchiveObject(self.key, self.kind, self.body.encode(), self.sha256,
                             self.first_position, self.last_position)

    def as_dict(self) -> dict[str, Any]:
        return {"sink": self.sink, "key": self.key, "kind": self.kind,
                "first_position": self.first_position, "last_position": self.last_position,
                "attempts": self.attempts, "last_error": self.last_error}


@dataclass(frozen=True)
class Result:
    """What one upload did: ``ok`` True (stored), False (failed) or None (not tried)."""

    sink: str
    key: str
    ok: bool | None
    written: bool = False  # False with ok: the sink already had the same bytes
    error: str = ""


class ArchiveOutbox(OutboxTable):
    """Archive uploads in the ledger database (constructor: :class:`OutboxTable`)."""

    def create_schema(self) -> None:
        for stmt in SCHEMA:
            self.conn.execute(stmt)
        self.conn.commit()

    # ---- following the ledger --------------------------------------------------------

    def tracked_position(self, sink: str) -> int:
        row = self._x("SELECT position FROM floe_archive_tracking WHERE name = ?",
                      (f"events:{sink}",)).fetchone()
        return int(row[0]) if row else 0

    def enqueue_events(self, source: RawSource, sinks: Sequence[str], *,
                       batch: int = BATCH_EVENTS, max_batches: int | None = None) -> int:
        """Queue the events after each sink's tracked position, ``batch`` events an object.

        Returns:
            How many objects were queued (over all sinks).
        """
        added = 0
        for sink in sinks:
            done = 0
            while max_batches is None or done < max_batches:
                rows = source.raw_notifications(self.tracked_position(sink) + 1, batch)
                if not rows:
                    break
                added += int(self._transaction(partial(self._enqueue_batch, sink, rows)))
                done += 1
        return added

    def _enqueue_batch(self, sink: str, rows: list[RawEvent]) -> int:
        fresh = [r for r in rows if r.position > self.tracked_position(sink)]
        if not fresh:  # another process queued them meanwhile
            return 0
        self._insert(sink, events_object(fresh))
        self._x("INSERT INTO floe_archive_tracking (name, position) VALUES (?, ?) ON CONFLICT "
                "(name) DO UPDATE SET position = excluded.position WHERE "
                "floe_archive_tracking.position < excluded.position",
                (f"events:{sink}", fresh[-1].position))
        return 1

    def enqueue(self, obj: ArchiveObject, sinks: Iterable[str]) -> None:
        """Queue one object (a checkpoint) for every sink named."""
        names = list(sinks)

        def insert() -> None:
            for sink in names:
                self._insert(sink, obj)

        self._transaction(insert)

    def _insert(self, sink: str, obj: ArchiveObject) -> None:
        now = self.clock()
        self._x("INSERT INTO floe_archive_outbox (sink, object_key, kind, first_position, "
                "last_position, sha256, body, created_at, next_attempt_at) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sink, object_key) DO NOTHING",
                (sink, obj.key, obj.kind, obj.first_position, obj.last_position, obj.sha256,
                 obj.body.decode(), now, now))

    # ---- uploading -------------------------------------------------------------------

    def pending(self, sinks: Iterable[str] | None = None, *, limit: int = 100_000
                ) -> list[Pending]:
        """Objects not yet archived, oldest first (every sink's, unless named)."""
        rows = self._x(f"SELECT {_COLUMNS} FROM floe_archive_outbox WHERE archived_at IS NULL "  # noqa: S608
                       "ORDER BY created_at, object_key LIMIT ?", (limit,)).fetchall()
        wanted = None if sinks is None else set(sinks)
        return [Pending(*row) for row in rows if wanted is None or row[0] in wanted]

    def claim(self, sinks: Iterable[str], *, due_only: bool, lease_seconds: float
              ) -> list[Pending]:
        """Lease the objects to upload now (due ones, or every pending one). An object
        leased by another live process is left to it; one whose holder died is taken over."""
        now = self.clock()
        due = [p for p in self.pending(sinks) if not due_only or p.next_attempt_at <= now]
        orphaned = self._orphaned(now)
        return list(self._transaction(
            lambda: self._lease(due, now, now + lease_seconds, orphaned)))

    def _orphaned(self, now: float) -> dict[tuple[str, str], str]:
        """Objects still leased by a process that is gone: (sink, key) → its owner."""
        if self.probe is None:
            return {}
        rows = self._x("SELECT sink, object_key, lease_owner FROM floe_archive_outbox WHERE "
                       "archived_at IS NULL AND lease_until >= ? AND lease_owner IS NOT NULL",
                       (now,)).fetchall()
        return {(str(s), str(k)): str(o) for s, k, o in rows if self.probe.alive(str(o)) is False}

    def _lease(self, items: list[Pending], now: float, until: float,
               orphaned: dict[tuple[str, str], str]) -> list[Pending]:
        owner = self.probe.owner() if self.probe is not None else None
        claimed = []
        for p in items:
            cur = self._x("UPDATE floe_archive_outbox SET lease_until = ?, lease_owner = ? WHERE "
                          "sink = ? AND object_key = ? AND archived_at IS NULL AND (lease_until "
                          "IS NULL OR lease_until < ? OR lease_owner = ?)",
                          (until, owner, p.sink, p.key, now, orphaned.get((p.sink, p.key))))
            if cur.rowcount == 1:
                claimed.append(p)
        return claimed

    def record(self, results: Iterable[Result]) -> None:
        """Store what a round did and release the leases."""
        items, now = list(results), self.clock()

        def write() -> None:
            for r in items:
                if r.ok:  # the body is in the sink now; the row keeps the key and hash
                    self._x("UPDATE floe_archive_outbox SET archived_at = ?, body = '', "
                            "attempts = attempts + 1, last_error = NULL, lease_until = NULL "
                            "WHERE sink = ? AND object_key = ?", (now, r.sink, r.key))
                elif r.ok is False:
                    row = self._x("SELECT attempts FROM floe_archive_outbox WHERE sink = ? AND "
                                  "object_key = ?", (r.sink, r.key)).fetchone()
                    delay = retry_delay((int(row[0]) if row else 0) + 1)
                    self._x("UPDATE floe_archive_outbox SET attempts = attempts + 1, "
                            "next_attempt_at = ?, last_error = ?, lease_until = NULL WHERE "
                            "sink = ? AND object_key = ?",
                            (now + delay, r.error[:500], r.sink, r.key))
                else:
                    self._x("UPDATE floe_archive_outbox SET lease_until = NULL WHERE sink = ? "
                            "AND object_key = ?", (r.sink, r.key))

        self._transaction(write)

    def behind(self, source: HeadSource, sinks: Iterable[str]) -> int:
        """How many ledger events the furthest-behind sink has not queued yet."""
        names = list(sinks)
        if not names:
            return 0
        return max(0, source.max_position() - min(self.tracked_position(n) for n in names))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per sink: objects archived and pending."""
        found: dict[str, dict[str, int]] = {}
        for sink, archived, n in self._x(
                "SELECT sink, archived_at IS NOT NULL, COUNT(*) FROM floe_archive_outbox "
                "GROUP BY sink, archived_at IS NOT NULL").fetchall():
            found.setdefault(str(sink), {"archived": 0, "pending": 0})[
                "archived" if archived else "pending"] = int(n)
        return found

"""One writer at a time per stream on a shared PostgreSQL ledger (issue 15 item 3).

Runners promoting into one repository append to one stream (the repository's Artifact).
With optimistic concurrency alone, N writers that decided on the same version race, one
wins and N-1 throw their decision away, re-read and try again: under 8 runners the retries
dominated and some gave up (exit 7). :class:`PgStreamLock` queues them instead: a session
advisory lock keyed by the stream, taken only around "re-read the stream, decide, commit"
(never across registry or gate I/O), so the next writer decides on the state the previous
one committed and its save does not conflict. The optimistic check stays underneath
(docs/design-notes.md#contention-on-one-repository): the lock is a queue, not the guarantee.

The lock lives on the store's own autocommit connection (the one the views use), not on a
pooled connection, so the save's transaction is unaffected; PostgreSQL releases it when
that connection ends, including when the process is killed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

STREAM_LOCK_CLASS = 0x666C6F66  # advisory-lock key space of floe streams (two-int4 form)
#: How long a writer queues for a stream before going on without the queue: well above one
#: decide-and-commit (milliseconds), well below a CI step's patience.
WAIT_SECONDS = 30.0
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout ran out


class _Executes(Protocol):
    def execute(self, sql: str, params: Any = ()) -> Any: ...


def stream_key(stream_id: str) -> int:
    """A signed 32-bit key for ``stream_id`` (collisions only make two streams share a queue)."""
    return int.from_bytes(hashlib.sha256(stream_id.encode()).digest()[:4], "big", signed=True)


class PgStreamLock:
    """``with lock.held(stream_id): ...``: waits for the stream's other writers."""

    def __init__(self, conn: _Executes, wait_seconds: float = WAIT_SECONDS) -> None:
        self.conn = conn
        self.wait_seconds = wait_seconds

    @contextmanager
    def held(self, stream_id: str) -> Iterator[bool]:
        """Yields True with the stream's lock held (waiting in PostgreSQL's queue), or False
        after ``wait_seconds`` without it (a holder that hangs, not dies): the writer then
        goes on as without a queue and the optimistic check decides, so a stuck runner never
        stalls the others for longer than that."""
        key = (STREAM_LOCK_CLASS, stream_key(stream_id))
        if not self._wait(key):
            yield False
            return
        try:
            yield True
        finally:
            self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def _wait(self, key: tuple[int, int]) -> bool:
        self.conn.execute(f"SET lock_timeout = '{int(self.wait_seconds * 1000)}ms'")
        try:
            self.conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
        except Exception as error:  # psycopg's LockNotAvailable, matched by its SQLSTATE so
            if getattr(error, "sqlstate", None) != LOCK_NOT_AVAILABLE:  # that a SQLite
                raise  # process, which imports this module too, never imports psycopg
            return False
        finally:
            self.conn.execute("SET lock_timeout = 0")
        return True

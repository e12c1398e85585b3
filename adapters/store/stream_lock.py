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


class _Executes(Protocol):
    def execute(self, sql: str, params: Any = ()) -> Any: ...


def stream_key(stream_id: str) -> int:
    """A signed 32-bit key for ``stream_id`` (collisions only make two streams share a queue)."""
    return int.from_bytes(hashlib.sha256(stream_id.encode()).digest()[:4], "big", signed=True)


class PgStreamLock:
    """``with lock.held(stream_id): ...``: waits for the stream's other writers."""

    def __init__(self, conn: _Executes) -> None:
        self.conn = conn

    @contextmanager
    def held(self, stream_id: str) -> Iterator[bool]:
        key = (STREAM_LOCK_CLASS, stream_key(stream_id))
        self.conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
        try:
            yield True
        finally:
            self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)

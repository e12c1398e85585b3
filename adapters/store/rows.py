"""The event table read a page at a time with one plain query, and decoded in bulk.

    reader = RowReader(conn, "?", "sqlite")      # the views' DB-API connection to the ledger
    rows = reader.rows(start, 5000)              # [(position, artifact_id, version, topic, state)]
    rows = reader.rows(start, 5000, PROJECTED_TOPICS)   # only those topics (filtered in SQL)
    events = decode_rows(rows, mapper)           # [(position, ArtifactEvent)]

The same rows eventsourcing's recorder selects (``SELECT rowid, * FROM stored_events`` on
SQLite, ``ledger_events`` on PostgreSQL, in notification order), without building a
Notification and a UUID for each: a verify or a rebuild reads every row of the ledger.

Decoding validates every event with pydantic, from the stored bytes in one compiled step
(the stored state with the row's originator id and version spliced in front) instead of
``json.loads`` and then keyword arguments. A row that step refuses, and every row that
could read differently that way (a key starting ``originator_``, a ``\\u`` escape, a topic
that is not an event's), goes through the store's own mapper: the result is the mapper's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from pydantic import ValidationError

from floe_ledger.domain.model.events import EVENT_TYPES, ArtifactEvent

Row = tuple[int, str, int, str, bytes | str]  # a hand-edited SQLite row may hold text
_CLASSES: dict[str, type[ArtifactEvent]] = {cls.TOPIC: cls for cls in EVENT_TYPES}
_QUERIES = {
    "sqlite": ("SELECT rowid, originator_id, originator_version, topic, state "
               "FROM stored_events WHERE rowid >= ?{topics} ORDER BY rowid LIMIT ?"),
    # eventsourcing's table for the application named "Ledger"; uuid as text, as SQLite has
    "postgresql": ("SELECT notification_id, originator_id::text, originator_version, topic, "
                   "state FROM public.ledger_events WHERE notification_id >= %s{topics} "
                   "ORDER BY notification_id LIMIT %s"),
}


class _Conn(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...


class RowReader:
    """Pages of stored events, as stored, on a DB-API connection to the ledger database.

    Args:
        conn: sqlite3 or psycopg (through the views' wrapper).
        kind: ``sqlite`` or ``postgresql``.
    """

    def __init__(self, conn: _Conn, kind: str) -> None:
        self.conn = conn
        self.kind = kind
        self._ids: dict[str, str] = {}  # stored id -> str(UUID(...)), one per stream

    def _id(self, stored: Any) -> str:
        """The artifact id as eventsourcing reads it back: ``str(UUID(text))`` (SQLite keeps
        the 32 hex digits; PostgreSQL's uuid as text is already this)."""
        text = str(stored)
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = str(UUID(text)) if self.kind == "sqlite" else text
        return found

    def rows(self, start: int, limit: int, topics: Sequence[str] = ()) -> list[Row]:
        """Up to ``limit`` rows from position ``start`` on (only ``topics``, if given)."""
        params: list[Any] = [start]
        if not topics:
            where = ""
        elif self.kind == "sqlite":
            where = f" AND topic IN ({', '.join('?' * len(topics))})"
            params += topics
        else:
            where = " AND topic = ANY(%s)"
            params.append(list(topics))
        params.append(limit)
        sql = _QUERIES[self.kind].format(topics=where)
        fetched = self.conn.execute(sql, params).fetchall()
        ids, ident = self._ids, self._id
        return [(int(r[0]), ids.get(r[1]) or ident(r[1]), int(r[2]), str(r[3]),
                 bytes(r[4]) if isinstance(r[4], memoryview) else r[4]) for r in fetched]

    def snapshotted(self) -> set[str]:
        """The streams (artifact ids) that have at least one snapshot row."""
        table = "stored_snapshots" if self.kind == "sqlite" else "public.ledger_snapshots"
        rows = self.conn.execute(f"SELECT DISTINCT originator_id FROM {table}", ()).fetchall()  # noqa: S608
        return {self._id(r[0]) for r in rows}


def decode_rows(rows: list[Row], mapper: Mapper[UUID]) -> list[tuple[int, ArtifactEvent]]:
    """``(position, event)`` for every row, as ``mapper.to_domain_event`` decodes it."""
    return [(row[0], decode_row(row, mapper)) for row in rows]


def decode_row(row: Row, mapper: Mapper[UUID]) -> ArtifactEvent:
    """One row's event (raises as the mapper raises for a row that does not decode)."""
    _, artifact_id, version, topic, state = row
    cls = _CLASSES.get(topic)
    if (cls is not None and isinstance(state, bytes) and state[:1] == b"{"
            and b'"originator_' not in state
            and b"\\u" not in state):
        head = b'{"originator_id":"%s","originator_version":%d' % (artifact_id.encode(),
                                                                    version)
        body = state[1:]
        try:
            return cls.model_validate_json(head + (b"," + body if body[:1] != b"}" else body))
        except ValidationError:
            pass  # the mapper decides (and names the error)
    event = mapper.to_domain_event(StoredEvent(  # text as it is: json.loads reads both
        originator_id=UUID(artifact_id), originator_version=version, topic=topic,
        state=cast(bytes, state)))
    return cast(ArtifactEvent, event)

"""Read the ledger for an audit: every stored row, in pages, never through snapshots.

    for raw, event in with_events(raw_events(store)):   # RawEvent, ArtifactEvent | None
        verifier.feed(raw)

Rows come from the application recorder's notification log (the same on SQLite and
PostgreSQL; PostgreSQL positions may have gaps, so paging resumes after the last id
seen). ``event`` is None when a row no longer decodes (it was edited); the chain
verifier reports such a row, the other folds skip it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, StoredEvent

from floe_ledger.adapters.store.mapper import PydanticMapper
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.projections.audit import RawEvent

PAGE = 1000
_MAPPER = PydanticMapper(transcoder=JSONTranscoder())


class _App(Protocol):
    @property
    def recorder(self) -> Any: ...


class AuditableStore(Protocol):
    """What the audit needs from a store: its eventsourcing application."""

    @property
    def app(self) -> _App: ...


def raw_events(store: AuditableStore, *, page: int = PAGE, start: int = 1) -> Iterator[RawEvent]:
    """Every stored event from position ``start`` on, as stored.

    Args:
        store: an EventStoreLedger (SQLite or PostgreSQL).
        page: rows per query.
        start: the first notification id to read.
    """
    for notification in _notifications(store, page, start):
        yield _raw(notification)


def with_events(rows: Iterable[RawEvent]) -> Iterator[tuple[RawEvent, ArtifactEvent | None]]:
    """Each row with its decoded event (None if the row no longer decodes)."""
    for raw in rows:
        yield raw, decode(raw)


def decoded(rows: Iterable[RawEvent]) -> Iterator[tuple[int, ArtifactEvent]]:
    """``(position, event)`` for every row that decodes."""
    for raw, event in with_events(rows):
        if event is not None:
            yield raw.position, event


def decode(raw: RawEvent) -> ArtifactEvent | None:
    """The domain event of a stored row, through the store's own mapper."""
    state = raw.state.encode() if isinstance(raw.state, str) else raw.state
    stored = StoredEvent(originator_id=UUID(raw.artifact_id), originator_version=raw.version,
                         topic=raw.topic, state=state)
    try:
        event = _MAPPER.to_domain_event(stored)
    except Exception:  # an edited row may no longer decode; the chain check names it
        return None
    return event if isinstance(event, ArtifactEvent) else None


def _notifications(store: AuditableStore, page: int, start: int) -> Iterator[Any]:
    recorder = store.app.recorder
    position = start
    while True:
        batch = recorder.select_notifications(start=position, limit=page)
        if not batch:
            return
        yield from batch
        position = int(batch[-1].id) + 1


def _raw(notification: Any) -> RawEvent:
    return RawEvent(
        position=int(notification.id),
        artifact_id=str(notification.originator_id),
        version=int(notification.originator_version),
        topic=str(notification.topic),
        state=notification.state,
    )

"""Read the ledger for an audit: every stored row, in pages, never through snapshots.

    for raw, event in with_events(raw_events(store)):   # RawEvent, ArtifactEvent | None
        verifier.feed(raw)

Rows come from the store's notification log (``EventStoreLedger.raw_notifications``, the
same on SQLite and PostgreSQL; PostgreSQL positions may have gaps, so paging resumes after
the last id seen). ``event`` is None when a row no longer decodes (it was edited); the chain
verifier reports such a row, the other folds skip it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, StoredEvent

from floe_ledger.adapters.store.mapper import PydanticMapper
from floe_ledger.adapters.store.views import EnvironmentViews
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.projections.audit import RawEvent

PAGE = 5000
_MAPPER = PydanticMapper(transcoder=JSONTranscoder())


class AuditableStore(Protocol):
    """What the audit needs from a store: its rows as stored, a page at a time."""

    def raw_notifications(self, start: int, limit: int) -> list[RawEvent]: ...
    def snapshot_states(self, artifact_id: str) -> list[tuple[int, dict[str, Any]]]: ...
    def stream_events(self, artifact_id: str) -> Iterator[ArtifactEvent]: ...
    def view_notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]: ...
    def snapshotted_streams(self) -> set[str]: ...

    @property
    def views(self) -> EnvironmentViews: ...


def raw_events(store: AuditableStore, *, page: int = PAGE, start: int = 1) -> Iterator[RawEvent]:
    """Every stored event from position ``start`` on, as stored.

    Args:
        store: an EventStoreLedger (SQLite or PostgreSQL).
        page: rows per query.
        start: the first notification id to read.
    """
    position = start
    while True:
        batch = store.raw_notifications(position, page)
        if not batch:
            return
        yield from batch
        position = batch[-1].position + 1


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


"""Store pydantic events as compact JSON under their explicit topics."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from floe_ledger.domain.model.events import ArtifactEvent


def encode_state(event: ArtifactEvent) -> bytes:
    state = event.stored_state()  # exactly what the chain hashes (FR-045: no null identified_by)
    state.pop("originator_id")
    state.pop("originator_version")
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()


class PydanticMapper(Mapper[UUID]):
    """eventsourcing Mapper for :class:`ArtifactEvent` models (no cipher, no compressor)."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=type(domain_event).TOPIC,
            state=encode_state(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        state = json.loads(stored_event.state)
        return cls(
            originator_id=stored_event.originator_id,
            originator_version=stored_event.originator_version,
            **state,
        )

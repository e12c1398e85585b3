"""Store pydantic events as compact JSON under their explicit topics."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.domain.model.snapshot import ArtifactSnapshot


def encode_state(event: ArtifactEvent) -> bytes:
    state = event.stored_state()  # exactly what the chain hashes (FR-045: no null identified_by)
    state.pop("originator_id")
    state.pop("originator_version")
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()


class UntrustedSnapshot(Exception):
    """A snapshot row this machine's key did not seal: forged, or written elsewhere."""


class PydanticMapper(Mapper[UUID]):
    """eventsourcing Mapper for :class:`ArtifactEvent` models (no cipher, no compressor).

    Snapshots are sealed with an HMAC under ``snapshot_key`` (a secret kept outside the
    ledger, :mod:`floe_ledger.adapters.system.secrets`): a snapshot row that does not carry
    a valid seal raises :class:`UntrustedSnapshot` when read, and the store replays the
    events instead. Events need no seal: their hash chain is verified as they load.
    """

    snapshot_key: bytes = b""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = encode_state(domain_event)
        if isinstance(domain_event, ArtifactSnapshot):
            seal = self._seal(domain_event.originator_id, domain_event.originator_version, state)
            state = state[:-1] + b',"seal":"' + seal.encode() + b'"}'
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=type(domain_event).TOPIC,
            state=state,
        )

    def _seal(self, originator_id: UUID | str, version: int, state: bytes) -> str:
        message = f"{originator_id}:{version}:".encode() + state
        return hmac.new(self.snapshot_key, message, hashlib.sha256).hexdigest()

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        state = json.loads(stored_event.state)
        if cls is ArtifactSnapshot:
            seal = str(state.pop("seal", ""))
            body = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
            want = self._seal(stored_event.originator_id, stored_event.originator_version, body)
            if not (self.snapshot_key and hmac.compare_digest(seal, want)):
                raise UntrustedSnapshot(
                    f"snapshot v{stored_event.originator_version} of "
                    f"{stored_event.originator_id} is not sealed by this machine's key")
        return cls(
            originator_id=stored_event.originator_id,
            originator_version=stored_event.originator_version,
            **state,
        )

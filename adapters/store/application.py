"""The eventsourcing Application behind the ledger, configured only from the injected env."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import Environment

from floe_ledger.adapters.store.mapper import PydanticMapper
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.snapshot import ArtifactSnapshot

SNAPSHOT_INTERVAL = 100


class LedgerApplication(Application[UUID]):
    """eventsourcing Application configured only from the given env mapping.

    A snapshot every 100 events keeps loading a long-lived repository cheap; the audit
    never trusts snapshots (it replays the events and their hash chain, and compares every
    snapshot with the state its events fold to).
    """

    name = "Ledger"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Artifact: SNAPSHOT_INTERVAL}
    snapshot_class = ArtifactSnapshot

    def construct_env(self, name: str, env: Any = None) -> Environment:
        return Environment(name, {"IS_SNAPSHOTTING_ENABLED": "y", **dict(env or {})})

    def construct_mapper(self) -> Mapper[UUID]:
        return PydanticMapper(transcoder=JSONTranscoder())

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A snapshot at every 100th version, as the library takes it, except that when that
        version is where the saved aggregate now stands, the aggregate in hand is the state
        to snapshot: the library would read the stream back from the previous snapshot and
        fold up to 100 events again (a tenth of a second, every ~10 promotions)."""
        if self.snapshots is None:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            version = event.originator_version
            if not isinstance(aggregate, Artifact) or version % SNAPSHOT_INTERVAL:
                continue
            if aggregate.version == version:
                self.snapshots.put([ArtifactSnapshot.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, version=version)

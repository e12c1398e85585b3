"""An in-memory LedgerStore with the same optimistic-concurrency contract as the real one.

Events are kept as (topic, JSON state) like the real store, so loading really replays
and re-checks the hash chain.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from eventsourcing.utils import resolve_topic

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import ConcurrencyError


class MemoryStore:
    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.saves = 0

    def load(self, repository: str, known: Artifact | None = None) -> Artifact | None:
        stream = self.streams.get(str(Artifact.create_id(repository)))
        if not stream:
            return None
        artifact: Any = None
        for topic, state in stream:
            event = resolve_topic(topic)(**json.loads(json.dumps(state)))
            artifact = event.mutate(artifact)
        return artifact  # type: ignore[no-any-return]

    def hold(self, repository: str) -> AbstractContextManager[bool]:
        return nullcontext(False)  # one process: optimistic concurrency alone

    def save(self, artifact: Artifact) -> int:
        pending = artifact.collect_events()
        if not pending:
            return 0
        stream = self.streams.setdefault(str(artifact.id), [])
        if pending[0].originator_version != len(stream) + 1:
            raise ConcurrencyError("stream moved on", hint="retry")
        for event in pending:
            stream.append((type(event).TOPIC, event.model_dump(mode="json")))
        self.saves += 1
        return len(pending)

    def events(self, repository: str) -> list[str]:
        """Kinds of the events stored for a repository, in order."""
        stream = self.streams.get(str(Artifact.create_id(repository)), [])
        return [topic.split("/")[-1].split(".")[0] for topic, _ in stream]

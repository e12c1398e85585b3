"""Ledger contents for the audit tests, built through the real Artifact aggregate.

Timestamps are controlled by a :class:`StepClock` that replaces the events'
``create_timestamp`` (the one seam eventsourcing offers for it), so as-of replays
can be asserted at exact moments between promotions, locks and rollbacks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from floe_ledger.adapters.store.mapper import encode_state
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import EnvironmentPath, env_tag, latest_tag
from floe_ledger.projections.audit import RawEvent

REPO = "oci://registry.test/acme/platform"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PATH = EnvironmentPath(("dev", "staging", "prod"))


def digest_of(version: str) -> str:
    return "sha256:" + (version.encode().hex() * 64)[:64]


@dataclass
class StepClock:
    """Each event gets the current time; ``at`` moves it."""

    now: datetime = T0

    def at(self, moment: datetime) -> None:
        self.now = moment


@contextmanager
def controlled_time(clock: StepClock) -> Iterator[StepClock]:
    ArtifactEvent.create_timestamp = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls: clock.now)
    try:
        yield clock
    finally:
        del ArtifactEvent.create_timestamp  # the inherited one is back


@dataclass
class Story:
    """Drives an Artifact through promotions, locks and rollbacks."""

    artifact: Artifact
    actor: Actor = field(default_factory=lambda: Actor("alice", "trace-1"))
    registry: str = "oci://registry.test/acme/platform"
    events: list[ArtifactEvent] = field(default_factory=list)
    store: Any = None  # an EventStoreLedger to save each step in, if given

    @classmethod
    def start(cls, repository: str = REPO, operator: str = "alice", store: Any = None,
              registry: str | None = None) -> Story:
        actor = Actor(operator, "trace-1")
        story = cls(Artifact.register(repository, actor=actor), actor, store=store,
                    registry=registry or repository)
        story._collect()
        return story

    def as_operator(self, name: str) -> Story:
        self.actor = Actor(name, "trace-2")
        return self

    def promote(self, version: str, source: str | None, target: str,
                gates: list[dict[str, Any]] | None = None) -> str:
        art, actor, digest = self.artifact, self.actor, digest_of(version)
        pid = str(uuid.uuid4())
        art.observe_version(version, digest, source, env_tag(version, source) if source
                            else version, actor)
        art.request_promotion(promotion_id=pid, version=version, digest=digest, source=source,
                              target=target, path=PATH, force=False, actor=actor)
        art.record_signature(pid, digest, {"status": "skipped", "mode": "none"}, True, actor)
        for gate in gates or []:
            art.record_gate(pid, gate, actor)
        for tag, mutable in ((env_tag(version, target), False), (latest_tag(target), True)):
            art.record_tag(pid, self.registry, tag, digest, mutable=mutable,
                           already_present=False, actor=actor)
        art.complete_promotion(pid, registries=[{"uri": self.registry, "status": "ok"}],
                               actor=actor)
        self._collect()
        return pid

    def lock(self, env: str, reason: str) -> None:
        self.artifact.lock(env, reason, self.actor)
        self._collect()

    def unlock(self, env: str, reason: str) -> None:
        self.artifact.unlock(env, reason, self.actor)
        self._collect()

    def rollback(self, version: str, env: str, reason: str) -> str:
        rid = str(uuid.uuid4())
        sequence = self.artifact.rollbacks.get((version, env), 0) + 1
        self.artifact.roll_back(rollback_id=rid, version=version, env=env,
                                digest=self.artifact.check_rollback(version, env),
                                rollback_tag=f"{version}-{env}-rollback-{sequence}",
                                sequence=sequence, reason=reason, impact={}, registries=[],
                                actor=self.actor)
        self._collect()
        return rid

    def _collect(self) -> None:
        pending = list(self.artifact.pending_events)
        if self.store is not None:
            self.store.save(self.artifact)
        else:
            self.artifact.collect_events()
        self.events.extend(pending)

    def rows(self, start: int = 1) -> list[RawEvent]:
        return rows_of(self.events, start)


def rows_of(events: list[ArtifactEvent], start: int = 1) -> list[RawEvent]:
    """Events as the store keeps them (state without originator id and version)."""
    return [RawEvent(start + i, str(e.originator_id), e.originator_version, e.TOPIC,
                     encode_state(e)) for i, e in enumerate(events)]


def timeline(clock: StepClock, store: Any = None, repository: str = REPO
             ) -> tuple[Story, dict[str, datetime]]:
    """The standard story, each step an hour apart; returns the moments between steps.

    09:00 v1.0.0 -> dev · 10:00 v1.0.0 -> staging · 11:00 v1.1.0 -> dev ·
    12:00 lock staging · 13:00 unlock staging · 14:00 v1.1.0 -> staging (bob) ·
    15:00 rollback staging to v1.0.0
    """
    hour = timedelta(hours=1)
    with controlled_time(clock):
        story = Story.start(repository, store=store)
        steps = [
            lambda: story.promote("v1.0.0", None, "dev"),
            lambda: story.promote("v1.0.0", "dev", "staging"),
            lambda: story.promote("v1.1.0", None, "dev"),
            lambda: story.lock("staging", "release freeze"),
            lambda: story.unlock("staging", "freeze over"),
            lambda: story.as_operator("bob").promote("v1.1.0", "dev", "staging"),
            lambda: story.rollback("v1.0.0", "staging", "bad config"),
        ]
        for i, step in enumerate(steps):
            clock.at(T0 + i * hour)
            step()
    between = {name: T0 + i * hour + timedelta(minutes=30) for i, name in enumerate(
        ["dev1", "staging1", "dev2", "locked", "unlocked", "staging2", "rolled_back"])}
    between["before"] = T0 - timedelta(minutes=1)
    return story, between

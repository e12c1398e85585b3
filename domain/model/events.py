"""The Artifact stream's events: past tense, frozen, pydantic, each with a stable topic.

Every event carries ``prev_hash``: the hash of the previous event of its stream over
the RFC 8785 canonical JSON of ``{"topic", "event"}``. Applying an event checks the
link, so a stream that was edited, reordered or cut in the middle does not load.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import CanInitAggregate, CanMutateAggregate
from eventsourcing.utils import register_topic
from pydantic import BaseModel, ConfigDict

from floe_ledger.domain.model.canonical import document_hash

GENESIS = "0" * 64
TOPIC_PREFIX = "floe.ledger/"


class TamperError(Exception):
    """An event's prev_hash does not match the hash of the event before it."""


def event_hash(topic: str, state: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of an event (``state`` as stored, mode="json")."""
    return document_hash(topic, state)


class ArtifactEvent(BaseModel, CanMutateAggregate[UUID]):
    """Base of every event in an Artifact stream."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    TOPIC: ClassVar[str] = TOPIC_PREFIX + "ArtifactEvent"

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    prev_hash: str = GENESIS
    operator: str = ""
    trace_id: str = ""
    identified_by: str | None = None  # oidc | registry | local (FR-045); None before it

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "TOPIC" in cls.__dict__:
            register_topic(cls.TOPIC, cls)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def stored_state(self) -> dict[str, Any]:
        """The state as stored and hashed; ``identified_by`` only when known, so events
        written before it existed keep their hash."""
        unset = {"identified_by"} if self.identified_by is None else None
        return self.model_dump(mode="json", exclude=unset)

    def chain_hash(self) -> str:
        return event_hash(self.TOPIC, self.stored_state())

    def mutate(self, aggregate: Any) -> Any:
        expected = GENESIS if aggregate is None else aggregate.chain_head
        if self.prev_hash != expected:
            raise TamperError(
                f"event v{self.originator_version} ({self.kind}) of {self.originator_id}: "
                f"prev_hash {self.prev_hash[:12]}… does not match {expected[:12]}…"
            )
        aggregate = super().mutate(aggregate)
        aggregate.chain_head = self.chain_hash()
        return aggregate

    def apply(self, aggregate: Any) -> None:
        # ``aggregate.when(self)``, without the wrapper Python 3.11's singledispatchmethod
        # builds on every attribute access (a quarter of the cost of replaying an event)
        cls = type(aggregate)
        if cls not in _WHEN:
            when = next(k.__dict__["when"] for k in cls.__mro__ if "when" in k.__dict__)
            _WHEN[cls] = getattr(when, "dispatcher", None)
        dispatcher = _WHEN[cls]
        if dispatcher is None:
            aggregate.when(self)
        else:
            dispatcher.dispatch(type(self))(aggregate, self)


_WHEN: dict[type, Any] = {}  # aggregate class -> the singledispatch registry of its ``when``


register_topic(ArtifactEvent.TOPIC, ArtifactEvent)


class ArtifactRegistered(ArtifactEvent, CanInitAggregate[UUID]):
    """The first event: the ledger starts tracking a repository."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "ArtifactRegistered.v1"
    originator_topic: str
    repository: str


class VersionObserved(ArtifactEvent):
    """A version's digest first seen in the registry: ``{version}-{env}`` or the release tag."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "VersionObserved.v1"
    version: str
    digest: str
    environment: str | None
    tag: str


class PromotionRequested(ArtifactEvent):
    """A promotion passed the transition, lock and authorization checks."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "PromotionRequested.v1"
    promotion_id: str
    version: str
    digest: str
    source_environment: str | None
    target_environment: str
    force: bool = False
    owner: str = ""  # host:pid of the process that runs it
    lease_until: datetime | None = None
    authorization: dict[str, Any] = {}


class PromotionRejected(ArtifactEvent):
    """A promotion was refused; refusals are audit facts (FR-048, FR-052)."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "PromotionRejected.v1"
    promotion_id: str
    version: str
    source_environment: str | None
    target_environment: str
    code: str
    exit_code: int
    reason: str
    hint: str = ""
    details: dict[str, Any] = {}


class RollbackRejected(PromotionRejected):
    """A rollback was refused (never promoted there, locked, unauthorized, blocked)."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "RollbackRejected.v1"


class LockRejected(PromotionRejected):
    """A lock or unlock was refused (unauthorized)."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "LockRejected.v1"


class SignatureVerified(ArtifactEvent):
    """Signature verdict that lets the promotion proceed (verified, warned or skipped)."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "SignatureVerified.v1"
    promotion_id: str
    digest: str
    verdict: dict[str, Any]


class SignatureRejected(ArtifactEvent):
    """Signature verdict that refused the promotion (enforce)."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "SignatureRejected.v1"
    promotion_id: str
    digest: str
    verdict: dict[str, Any]


class GatePassed(ArtifactEvent):
    """One gate's result that does not block: passed, warning or skipped."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "GatePassed.v1"
    promotion_id: str
    result: dict[str, Any]


class GateFailed(ArtifactEvent):
    """One gate's failed result."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "GateFailed.v1"
    promotion_id: str
    result: dict[str, Any]


class TagWritten(ArtifactEvent):
    """One tag in one registry now names the digest."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "TagWritten.v1"
    promotion_id: str
    registry: str
    tag: str
    digest: str
    mutable: bool
    already_present: bool = False


class PromotionCompleted(ArtifactEvent):
    """Every tag is written and verified on the primary; replicas' status recorded."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "PromotionCompleted.v1"
    promotion_id: str
    version: str
    digest: str
    source_environment: str | None
    target_environment: str
    tags: list[str]
    registries: list[dict[str, Any]] = []
    gate_results: list[dict[str, Any]] = []
    signature: dict[str, Any] = {}
    record_digest: str | None = None


class RollbackEvent(ArtifactEvent):
    """The fields both halves of a rollback record, in their stored order. It has no TOPIC
    of its own, so it is never stored: only its two subclasses are."""

    rollback_id: str
    version: str
    digest: str
    environment: str
    previous_version: str | None
    previous_digest: str | None
    rollback_tag: str
    sequence: int
    reason: str
    impact: dict[str, Any] = {}


class RollbackRequested(RollbackEvent):
    """A rollback passed its checks and is about to write its tags; RolledBack completes it.
    Until then the rollback is open: ``status`` shows it and the same command resumes it."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "RollbackRequested.v1"


class RolledBack(RollbackEvent):
    """An environment re-pointed to a version it ran before."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "RolledBack.v1"
    registries: list[dict[str, Any]] = []


class EnvironmentLocked(ArtifactEvent):
    TOPIC: ClassVar[str] = TOPIC_PREFIX + "EnvironmentLocked.v1"
    environment: str
    reason: str


class EnvironmentUnlocked(ArtifactEvent):
    TOPIC: ClassVar[str] = TOPIC_PREFIX + "EnvironmentUnlocked.v1"
    environment: str
    reason: str


class LockBroken(ArtifactEvent):
    """A locked environment was entered with --break-glass; the lock stays."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "LockBroken.v1"
    environment: str
    reason: str
    lock_reason: str
    locked_by: str


class RecordObserved(ArtifactEvent):
    """A floe record another ledger wrote to the registry, read and verified before deciding:
    from now on what it says counts in this ledger too. ``source_ledger`` and
    ``record_digest`` name where it came from; ``operator`` is who folded it here,
    ``recorded_operator`` who acted in the other ledger. ``goes_live`` and ``lock_effect``
    are what folding it changed here (a record older than what this ledger knows changes
    nothing), so projections need no state of their own to fold it."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "RecordObserved.v1"
    record_digest: str
    source_ledger: str
    record_kind: str  # promotion | rollback | lock | adoption
    record_id: str
    subject_digest: str
    environment: str
    version: str | None = None
    source_environment: str | None = None
    recorded_operator: str
    recorded_at: datetime
    status: str | None = None  # lock records: locked | unlocked
    reason: str = ""
    sequence: int | None = None  # rollback records
    goes_live: bool = False
    lock_effect: str | None = None  # locked | unlocked, when the lock state changed here
    recorded_identified_by: str | None = None  # how the other ledger identified its operator


class VersionAdopted(ArtifactEvent):
    """An operator adopted an environment tag floe did not write (pushed by hand or by
    another tool) as evidence that the version passed that environment."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "VersionAdopted.v1"
    adoption_id: str
    version: str
    digest: str
    environment: str
    tag: str
    reason: str


class TagsCollected(ArtifactEvent):
    """``floe gc`` deleted environment tags of versions outside the retention from
    ``registry`` (tag -> the digest it named), and found ``absent`` ones already gone."""

    TOPIC: ClassVar[str] = TOPIC_PREFIX + "TagsCollected.v1"
    collection_id: str
    registry: str
    keep: int
    deleted: dict[str, str]
    absent: dict[str, str] = {}
    environments: list[str] = []


EVENT_TYPES: tuple[type[ArtifactEvent], ...] = (
    ArtifactRegistered, VersionObserved, PromotionRequested, PromotionRejected, RollbackRejected,
    LockRejected,
    SignatureVerified, SignatureRejected, GatePassed, GateFailed, TagWritten,
    PromotionCompleted, RollbackRequested, RolledBack, EnvironmentLocked, EnvironmentUnlocked,
    LockBroken, RecordObserved, VersionAdopted, TagsCollected,
)

"""The one way a use case changes the ledger: a unit of work over one repository's stream.

    session = ArtifactSession(store, repository, actor, clock)
    artifact = session.current()                  # loaded once
    session.apply(lambda art: art.lock(env, reason, actor))  # decide + save, retried
    session.refuse(err, action="lock", target=env)           # record a refusal, raise it

:meth:`ArtifactSession.apply` is the only retry-and-save loop in floe: promote, rollback and
lock all save through it. A change runs against the aggregate as this command last saw it;
when another writer appended first (:class:`ConcurrencyError`), the aggregate is reloaded
and the change decided again on the new state, up to :data:`MAX_RETRIES` times with a
jittered, growing pause between attempts. A change that raises leaves nothing pending.

Where the ledger is shared (PostgreSQL), each attempt first queues behind the stream's other
writers (``store.hold``) and re-reads the stream: writers of one repository then take turns
instead of racing, and the retry loop stays underneath for what the queue cannot see
(docs/design-notes.md#contention-on-one-repository).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import ConcurrencyError, FloeError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.services.ports import Clock, LedgerStore

MAX_RETRIES = 16
"""Saves attempted before a lost race is reported (exit 7): enough for 8 runners on one
repository (measured: no exit 7 below 8 runners), bounded so a stuck ledger fails fast."""

R = TypeVar("R")


@dataclass(frozen=True)
class LedgerHead:
    """Where the stream stood when a registry record was written (lets an auditor see
    events cut from the ledger after it)."""

    artifact_id: str
    version: int
    hash: str
    ledger_id: str

    def as_record(self) -> dict[str, str | int]:
        return {"artifact_id": self.artifact_id, "version": self.version, "hash": self.hash,
                "ledger_id": self.ledger_id}


@dataclass
class ArtifactSession:
    """One command's view of one repository's Artifact, and its only way to save it."""

    store: LedgerStore
    repository: str
    actor: Actor
    clock: Clock
    #: Writes the ledger head where the ledger cannot rewrite it (a registry record), once,
    #: when the command that saved something ends: refusals and the newest events included.
    anchor: Callable[[LedgerHead], None] | None = None
    _artifact: Artifact | None = field(default=None, init=False, repr=False)
    _saves: int = field(default=0, init=False, repr=False)

    def current(self) -> Artifact:
        """The aggregate as this command last saved it (loaded once, reloaded after a race)."""
        if self._artifact is None:
            self._artifact = self.scratch()
        return self._artifact

    def scratch(self) -> Artifact:
        """A fresh copy from the ledger that is never saved (dry-run decides on it)."""
        return self.store.load(self.repository) or Artifact.register(self.repository,
                                                                      actor=self.actor)

    def apply(self, change: Callable[[Artifact], R]) -> R:
        """Run ``change`` on the aggregate and save what it emitted; returns its result.

        Raises:
            ConcurrencyError: still losing the race after MAX_RETRIES attempts (exit 7).
            FloeError: whatever ``change`` refuses with; nothing is saved then.
        """
        for attempt in range(MAX_RETRIES):
            try:
                with self.store.hold(self.repository) as queued:
                    if queued and self._artifact is not None:
                        # the writer before us may have appended: read what it did
                        self._artifact = self.store.load(self.repository, self._artifact)
                    artifact = self.current()
                    outcome = change(artifact)
                    self._saves += self.store.save(artifact)
                    return outcome
            except ConcurrencyError:
                self._artifact = None
                if attempt == MAX_RETRIES - 1:
                    raise
                self.clock.pause(attempt)
            except BaseException:
                self._artifact = None
                raise
        raise AssertionError("unreachable")

    def refuse(self, error: FloeError, *, action: str, target: str, version: str = "",
               source: str | None = None, ref_id: str | None = None,
               digest: str | None = None) -> NoReturn:
        """Record ``error`` as the refusal of ``action`` (an audit fact), then raise it."""
        self.record_refusal(error, action=action, target=target, version=version,
                            source=source, ref_id=ref_id, digest=digest)
        raise error

    def record_refusal(self, error: FloeError, *, action: str, target: str, version: str = "",
                       source: str | None = None, ref_id: str | None = None,
                       digest: str | None = None) -> None:
        """Record the refusal; ``error`` then names it (:func:`identify_refusal`), with
        ``digest`` or the digest the ledger knows for ``version``."""
        ref = ref_id or self.clock.new_id()
        self.apply(lambda art: art.reject(error, promotion_id=ref, version=version,
                                          source=source, target=target, actor=self.actor,
                                          action=action))
        known = self.current().versions.get(version) if version else None
        identify_refusal(error, action, ref, digest or known)

    def close(self) -> list[str]:
        """Anchor the head if this command saved anything; a warning (never an error: the
        command's own outcome stands) if the anchor could not be written."""
        if not self._saves or self.anchor is None:
            return []
        self._saves = 0
        try:
            self.anchor(self.head())
        except FloeError as err:
            return [f"ledger head not anchored in the registry: {err.message} ('floe audit "
                    "checkpoint' anchors it by hand)"]
        return []

    def record_origin(self) -> dict[str, object]:
        """The fields every registry record carries: who acted, how they were identified,
        the trace, and where this ledger stood (its head names the ledger too)."""
        return {"operator": self.actor.operator, "identified_by": self.actor.identified_by,
                "trace_id": self.actor.trace_id, "ledger_head": self.head().as_record()}

    def head(self) -> LedgerHead:
        artifact = self.current()
        return LedgerHead(str(artifact.id), artifact.version, artifact.chain_head,
                          artifact.ledger_id)


def identify_refusal(error: FloeError, action: str, ref_id: str, digest: str | None) -> None:
    """Put on ``error``'s JSON envelope what joins it to the audit trail: the refused
    operation's id (``promotion_id`` for a promotion, ``operation_id`` for a rollback, lock,
    unlock or adoption; the id its rejection event records) and ``artifact_digest`` (None
    when not known). A dry run's refusal names the id the real run would have had."""
    key = "promotion_id" if action == "promote" else "operation_id"
    error.envelope = {**(error.envelope or {}), key: ref_id, "artifact_digest": digest}

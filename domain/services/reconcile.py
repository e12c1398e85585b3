"""Before deciding, fold in what other ledgers recorded in the registry.

Every checkout, CI runner and laptop has its own ledger unless the team shares one; the
registry is what they all share. Before a command decides (promote, rollback, lock, unlock,
status, history) it reads the repository's floe records it has not seen yet, verifies them
and folds them into its own ledger as RecordObserved events, so that a lock, a promotion or
an adoption made from any ledger counts in every ledger.

    warnings = reconcile(session, registry, reader, [latest_tag("prod"), lock_record_tag("prod")])

It is as strong as the last records read: a lock written by another ledger in the same
second as a promotion here may race (``floe audit verify --registry`` shows it afterwards).
A shared PostgreSQL ledger serialises decisions instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import latest_tag, lock_record_tag
from floe_ledger.domain.services.ports import Clock, LedgerStore, RecordReader, Registry
from floe_ledger.domain.services.unit_of_work import ArtifactSession


def reconcile(session: ArtifactSession, registry: Registry, reader: RecordReader,
              tags: Sequence[str]) -> list[str]:
    """Fold the new, verified records found through ``tags``; returns one warning per record
    that failed verification (reported, never folded)."""
    artifact = session.current()
    scan = reader.scan(registry, tags, known=artifact.observed, ledger_id=artifact.ledger_id)
    new = sorted(scan.records, key=lambda r: r.at)
    if new:
        def fold(art: Artifact) -> None:
            for record in new:
                art.observe_record(record, session.actor)
        session.apply(fold)
    return [f"registry record {r.digest} ignored: {r.reason}" for r in scan.rejected]


def environment_tags(environments: Iterable[str]) -> list[str]:
    """What an environment's state is read from: what runs there and its lock."""
    tags: list[str] = []
    for env in environments:
        tags += [latest_tag(env), lock_record_tag(env)]
    return tags


@dataclass
class ReconcileService:
    """Reconciling on its own, for the commands that only read (status, history)."""

    store: LedgerStore
    registry: Registry
    repository: str
    clock: Clock
    reader: RecordReader

    def environments(self, environments: Iterable[str], actor: Actor) -> list[str]:
        """Fold other ledgers' records about ``environments``; warnings as :func:`reconcile`."""
        session = ArtifactSession(self.store, self.repository, actor, self.clock)
        return reconcile(session, self.registry, self.reader, environment_tags(environments))

    def current(self, environments: Iterable[str], actor: Actor) -> dict[str, EnvironmentFacts]:
        """What runs in each environment and whether it is locked, as the ledger's verified
        events say (the aggregate, loaded through its hash chain): what ``status``'s derived
        views must agree with."""
        artifact = ArtifactSession(self.store, self.repository, actor, self.clock).current()
        facts = {}
        for env in environments:
            live = artifact.live.get(env)
            facts[env] = EnvironmentFacts(live.version if live else None,
                                          live.digest if live else None, env in artifact.locks)
        return facts


@dataclass(frozen=True)
class EnvironmentFacts:
    version: str | None
    digest: str | None
    locked: bool

"""Before deciding, fold in what other ledgers recorded in the registry.

Every checkout, CI runner and laptop has its own ledger unless the team shares one; the
registry is what they all share. Before a command decides (promote, rollback, lock, unlock,
status, history) it reads the repository's floe records it has not seen yet, verifies them
and folds them into its own ledger as RecordObserved events, so that a lock, a promotion or
an adoption made from any ledger counts in every ledger.

    warnings = reconcile(session, registry, reader, [latest_tag("prod"), env_index_tag("prod")])

It is as strong as the last records read: a lock written by another ledger in the same
second as a promotion here may race (``floe audit verify --registry`` shows it afterwards).
A shared PostgreSQL ledger serialises decisions instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import ExitCode, FloeError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.oci import Descriptor
from floe_ledger.domain.model.records import ObservedRecord
from floe_ledger.domain.model.values import env_index_tag, latest_tag
from floe_ledger.domain.services.ports import Clock, LedgerStore, RecordReader, Registry
from floe_ledger.domain.services.unit_of_work import ArtifactSession


@dataclass(frozen=True)
class Reconciled:
    """Warnings for records that failed verification (reported, never folded), and what
    each tag read named, so the command need not resolve it again."""

    warnings: list[str]
    resolved: dict[str, Descriptor | None]
    lock_records: dict[str, ObservedRecord] = field(default_factory=dict)  # by index tag


def reconcile(session: ArtifactSession, registry: Registry, reader: RecordReader,
              tags: Sequence[str], also: Sequence[str] = ()) -> Reconciled:
    """Fold the new, verified records found through ``tags``; returns one warning per record
    that failed verification (reported, never folded). ``also``: tags the command checks
    next, resolved in the same round trips (no records read through them)."""
    artifact = session.current()
    extra = {"also": also} if also else {}
    scan = reader.scan(registry, tags, known=artifact.observed, ledger_id=artifact.ledger_id,
                       **extra)
    new = sorted(scan.records, key=lambda r: r.at)
    if new:
        def fold(art: Artifact) -> None:
            for record in new:
                art.observe_record(record, session.actor)
        session.apply(fold)
    return Reconciled([f"registry record {r.digest} ignored: {r.reason}" for r in scan.rejected],
                      scan.resolved, scan.lock_records)


def unpublished_locks(artifact: Artifact, environments: Iterable[str],
                      lock_records: Mapping[str, ObservedRecord]) -> list[str]:
    """A lock or unlock this ledger saved whose record ``floe-<env>-index`` does not name (the
    command was killed before publishing it): other ledgers do not see it yet. Lock and
    unlock alternate, so the record names it if it is this ledger's, in the same state."""
    warnings = []
    for env in environments:
        own = artifact.own_lock_changes.get(env)
        if own is None:
            continue
        action = "lock" if own.locked else "unlock"
        named = lock_records.get(env_index_tag(env))
        if named is None or (named.ledger_id, named.status) != (artifact.ledger_id,
                                                                  f"{action}ed"):
            warnings.append(
                f"the {action} of {env} at {own.at.isoformat()} is in this ledger but not in "
                f"the registry (interrupted): other ledgers do not see it; run 'floe platform "
                f"{action} --env {env} --reason TEXT' again to publish it")
    return warnings


def environment_tags(environments: Iterable[str]) -> list[str]:
    """What an environment's state is read from: what runs there and its lock."""
    tags: list[str] = []
    for env in environments:
        tags += [latest_tag(env), env_index_tag(env)]
    return tags


@dataclass
class ReconcileService:
    """Reconciling on its own, for the commands that only read (status, history)."""

    store: LedgerStore
    registry: Registry
    repository: str
    clock: Clock
    reader: RecordReader

    def environments(self, environments: Iterable[str], actor: Actor) -> EnvironmentsRead:
        """Fold other ledgers' records about ``environments`` (one load of the aggregate),
        then say what runs in each and whether it is locked, as the verified events say.

        Only reading, it does not stop when the registry cannot be read (exit 5) or refuses
        the credential (exit 12): it says so in a warning and answers from this ledger.
        """
        envs = list(environments)
        session = ArtifactSession(self.store, self.repository, actor, self.clock)
        try:
            read = reconcile(session, self.registry, self.reader, environment_tags(envs))
        except FloeError as err:
            if err.exit_code not in (ExitCode.REGISTRY_UNAVAILABLE, ExitCode.UNAUTHORIZED):
                raise
            warnings = [f"showing this ledger only: other ledgers' records could not be read "
                        f"({err.message})"]
        else:
            warnings = read.warnings + unpublished_locks(session.current(), envs,
                                                         read.lock_records)
        artifact = session.current()
        facts = {}
        for env in envs:
            live = artifact.live.get(env)
            facts[env] = EnvironmentFacts(live.version if live else None,
                                          live.digest if live else None, env in artifact.locks)
        return EnvironmentsRead(warnings, facts)


@dataclass(frozen=True)
class EnvironmentFacts:
    """What runs in an environment and whether it is locked, from the aggregate loaded
    through its hash chain: what ``status``'s derived views must agree with."""

    version: str | None
    digest: str | None
    locked: bool


@dataclass(frozen=True)
class EnvironmentsRead:
    warnings: list[str]
    facts: dict[str, EnvironmentFacts]

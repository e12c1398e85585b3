"""The four DORA metrics per environment, as a pure fold over the ledger's events.

Events in, a frozen :class:`DoraReport` out; no clock, no I/O, so an auditor replays the
metrics as of a past moment (``until``) from the same events (docs/metrics.md, DORA-01..07)::

    report = dora_metrics(events, environments=["dev", "staging", "prod"],
                          since=until - timedelta(days=30), until=until,
                          failure_window=timedelta(hours=24))
    report.to_json()          # a JSON-ready dict: what ``floe metrics -o json`` prints

Definitions, all per environment E and per repository (artifact), over events stamped at or
before ``until`` (later events do not exist yet):

- a **deployment** into E is a completed promotion into E (PromotionCompleted, or another
  ledger's promotion record folded here, at the time it records). Rollbacks, adoptions,
  refused promotions (a failed gate) and promotions still open are not deployments.
- **deployment frequency**: deployments into E with ``since <= at <= until``, and that count
  per day of the window.
- **lead time** of a version: from its first deployment anywhere (its first environment) to
  its first deployment into E, one sample per version whose first deployment into E is in
  the window (0 s in the version's first environment; a re-promotion adds no sample).
- a deployment D of version v into E **failed** when, by ``until``, a rollback of E moved E
  away from D (D was what E ran when it was rolled back), or a rollback of E to a version
  other than v came at most ``failure_window`` after D. **change failure rate**: failed
  deployments in the window / deployments in the window.
- **time to restore** of a failed deployment D: from D to the first later rollback of E or
  deployment into E that did not fail (a failure is known only once a rollback came, so
  every failure counted has one).

Durations are seconds: median (the mean of the two middle samples for an even count), p90
(nearest rank: the ceil(0.9 n)-th smallest) and mean. A ratio or statistic over no samples
is ``None`` (null), never 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from floe_ledger.domain.model import events as ev

#: The only event kinds the metrics read; a reader may skip decoding every other row.
DORA_KINDS: frozenset[str] = frozenset({"PromotionCompleted", "RolledBack", "RecordObserved"})

DEFAULT_FAILURE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Change:
    """One deployment or rollback: what E ran from ``at`` on."""

    artifact: str
    environment: str
    version: str
    at: datetime
    rollback: bool
    order: int  # position in the ledger, to order events stamped at the same time


@dataclass(frozen=True)
class Stat:
    """Duration samples in seconds: how many, median, p90 (nearest rank) and mean."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        if not samples:
            return cls(0, None, None, None)
        ordered = sorted(samples)
        rank = math.ceil(0.9 * len(ordered))
        return cls(len(ordered), statistics.median(ordered), ordered[rank - 1],
                   statistics.fmean(ordered))

    def as_dict(self) -> dict[str, Any]:
        return {"samples": self.count, "median_seconds": self.median,
                "p90_seconds": self.p90, "mean_seconds": self.mean}


@dataclass(frozen=True)
class DeploymentOutcome:
    """A deployment in the window and what became of it."""

    artifact: str
    version: str
    at: datetime
    lead_time_seconds: float | None  # None unless it is the version's first arrival in E
    failed: bool
    restored_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"artifact": self.artifact, "version": self.version, "at": _iso(self.at),
                "lead_time_seconds": self.lead_time_seconds, "failed": self.failed,
                "restored_at": _iso(self.restored_at) if self.restored_at else None}


@dataclass(frozen=True)
class EnvironmentMetrics:
    """The four metrics of one environment over the window."""

    environment: str
    deployments: int
    deployments_per_day: float | None
    lead_time: Stat
    failed_deployments: int
    change_failure_rate: float | None
    time_to_restore: Stat
    outcomes: tuple[DeploymentOutcome, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "deployment_frequency": {"deployments": self.deployments,
                                     "per_day": self.deployments_per_day},
            "lead_time": self.lead_time.as_dict(),
            "change_failure_rate": {"failed": self.failed_deployments,
                                    "deployments": self.deployments,
                                    "rate": self.change_failure_rate},
            "time_to_restore": self.time_to_restore.as_dict(),
            "deployments": [o.as_dict() for o in self.outcomes],
        }


@dataclass(frozen=True)
class DoraReport:
    """Every asked-for environment's metrics over ``[since, until]``."""

    since: datetime
    until: datetime
    failure_window: timedelta
    environments: tuple[EnvironmentMetrics, ...]

    def environment(self, name: str) -> EnvironmentMetrics:
        return next(e for e in self.environments if e.environment == name)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps`` it as is): ``floe metrics -o json``'s fields."""
        return {"since": _iso(self.since), "until": _iso(self.until),
                "failure_window_seconds": self.failure_window.total_seconds(),
                "environments": [e.as_dict() for e in self.environments]}


def dora_metrics(events: Iterable[ev.ArtifactEvent], *, environments: Sequence[str],
                 since: datetime, until: datetime,
                 failure_window: timedelta = DEFAULT_FAILURE_WINDOW) -> DoraReport:
    """The four DORA metrics of ``environments`` (every one deployed to, in order of first
    deployment, when empty) over ``[since, until]``, from events in ledger order."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware")
    changes = collect(events, until)
    names = list(environments) or list(dict.fromkeys(
        c.environment for c in changes if not c.rollback))
    failed = failures(changes, failure_window)
    first = first_arrivals(changes)
    return DoraReport(since, until, failure_window, tuple(
        _environment(name, changes, failed, first, since, until) for name in names))


def collect(events: Iterable[ev.ArtifactEvent], until: datetime) -> list[Change]:
    """Deployments and rollbacks the ledger held at ``until``, in time order."""
    out: list[Change] = []
    for order, event in enumerate(events):
        if event.timestamp > until:
            continue
        aid = str(event.originator_id)
        if isinstance(event, ev.PromotionCompleted):
            out.append(Change(aid, event.target_environment, event.version, event.timestamp,
                              False, order))
        elif isinstance(event, ev.RolledBack):
            out.append(Change(aid, event.environment, event.version, event.timestamp,
                              True, order))
        elif (isinstance(event, ev.RecordObserved)
              and event.record_kind in ("promotion", "rollback")):
            at = event.recorded_at.astimezone(UTC)
            out.append(Change(aid, event.environment, event.version or "", at,
                              event.record_kind == "rollback", order))
    return sorted(out, key=lambda c: (c.at, c.order))


def _timelines(changes: list[Change]) -> dict[tuple[str, str], list[Change]]:
    lines: dict[tuple[str, str], list[Change]] = {}
    for c in changes:
        lines.setdefault((c.artifact, c.environment), []).append(c)
    return lines


def failures(changes: list[Change], window: timedelta) -> frozenset[Change]:
    """The deployments that failed: rolled back away from, or followed within ``window`` by
    a rollback of their environment to another version."""
    out: set[Change] = set()
    for line in _timelines(changes).values():
        for i, rollback in enumerate(line):
            if not rollback.rollback:
                continue
            live = line[i - 1] if i else None
            if live is not None and not live.rollback and live.version != rollback.version:
                out.add(live)
            out.update(d for d in line[:i] if not d.rollback
                       and rollback.at - d.at <= window and d.version != rollback.version)
    return frozenset(out)


def first_arrivals(changes: list[Change]) -> dict[tuple[str, str], datetime]:
    """(artifact, version) -> its first deployment anywhere."""
    first: dict[tuple[str, str], datetime] = {}
    for c in changes:
        if not c.rollback:
            first.setdefault((c.artifact, c.version), c.at)
    return first


def _environment(name: str, changes: list[Change], failed: frozenset[Change],
                 first: dict[tuple[str, str], datetime], since: datetime,
                 until: datetime) -> EnvironmentMetrics:
    mine = [c for c in changes if c.environment == name]
    lines = _timelines(mine)
    arrived: set[tuple[str, str]] = set()
    outcomes: list[DeploymentOutcome] = []
    for c in mine:
        if c.rollback:
            continue
        key = (c.artifact, c.version)
        lead = None if key in arrived else (c.at - first[key]).total_seconds()
        arrived.add(key)
        if not since <= c.at <= until:
            continue
        restored = _restored(c, lines[(c.artifact, name)], failed) if c in failed else None
        outcomes.append(DeploymentOutcome(c.artifact, c.version, c.at, lead, c in failed,
                                          restored))
    count = len(outcomes)
    bad = [o for o in outcomes if o.failed]
    days = (until - since).total_seconds() / 86400
    return EnvironmentMetrics(
        environment=name, deployments=count,
        deployments_per_day=count / days if days > 0 else None,
        lead_time=Stat.of([o.lead_time_seconds for o in outcomes
                           if o.lead_time_seconds is not None]),
        failed_deployments=len(bad), change_failure_rate=len(bad) / count if count else None,
        time_to_restore=Stat.of([(o.restored_at - o.at).total_seconds() for o in bad
                                 if o.restored_at is not None]),
        outcomes=tuple(outcomes))


def _restored(deployment: Change, line: list[Change], failed: frozenset[Change]) -> \
        datetime | None:
    """When E was restored after a failed deployment: its next rollback, or its next
    deployment that did not fail."""
    later = line[line.index(deployment) + 1:]
    return next((c.at for c in later if c.rollback or c not in failed), None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()

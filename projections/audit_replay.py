"""Folds an auditor asks for: state as of a moment, filtered history, the tags the ledger wrote.

Pure: each fold is fed decoded events in notification order::

    replay = AsOfReplay(datetime(2026, 11, 20, tzinfo=UTC))
    for position, event in events:
        replay.feed(event)
    replay.result()          # [ReplayedArtifact(...)], every environment as it was then
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from floe_ledger.domain.model import events as ev
from floe_ledger.projections.environment import (
    EnvironmentStatus,
    RegisterArtifact,
    SetLive,
    SetLock,
    SetPromotion,
    project,
)
from floe_ledger.projections.rows import ROLLING_BACK


@dataclass
class ReplayedArtifact:
    """One repository's environments at a moment."""

    artifact_id: str
    repository: str = ""
    environments: dict[str, EnvironmentStatus] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"artifact_id": self.artifact_id, "repository": self.repository,
                "environments": [e.as_dict() for e in self.environments.values()]}


class AsOfReplay:
    """Environment state as it was at ``as_of``: events stamped later are ignored."""

    def __init__(self, as_of: datetime) -> None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        self.as_of = as_of
        self.events = 0
        self._artifacts: dict[str, ReplayedArtifact] = {}
        # (artifact, env) -> the open rollback there: (id, version, requested at)
        self._rollbacks: dict[tuple[str, str], tuple[str, str, str]] = {}

    def feed(self, event: ev.ArtifactEvent) -> None:
        if event.timestamp > self.as_of:
            return
        self.events += 1
        art = self._artifacts.setdefault(str(event.originator_id),
                                         ReplayedArtifact(str(event.originator_id)))
        for op in project(event):
            if isinstance(op, RegisterArtifact):
                art.repository = op.repository
            elif isinstance(op, SetLive):
                env = self._env(art, op.environment)
                rollback = self._rollbacks.get((art.artifact_id, op.environment))
                if rollback is not None and (  # moot once something went live after it
                        datetime.fromisoformat(op.at) >= datetime.fromisoformat(rollback[2])):
                    del self._rollbacks[(art.artifact_id, op.environment)]
                    env = replace(env, open_rollback=None)
                art.environments[op.environment] = replace(
                    env, version=op.version, digest=op.digest,
                    promoted_by=op.by, promoted_at=op.at, via=op.via)
            elif isinstance(op, SetLock):
                art.environments[op.environment] = replace(
                    self._env(art, op.environment), locked=op.locked,
                    lock_reason=op.reason or None, locked_by=op.by or None,
                    locked_at=op.at or None)
            elif isinstance(op, SetPromotion):
                self._lifecycle(art, op)

    def _lifecycle(self, art: ReplayedArtifact, op: SetPromotion) -> None:
        """A promotion's or a rollback's lifecycle row: what is open in its environment."""
        env, key = self._env(art, op.target), (art.artifact_id, op.target)
        rollback = self._rollbacks.get(key)
        if op.state == ROLLING_BACK:
            self._rollbacks[key] = (op.promotion_id, op.version, op.at)
            art.environments[op.target] = replace(env, open_rollback=op.version)
        elif rollback is not None and rollback[0] == op.promotion_id:
            del self._rollbacks[key]
            art.environments[op.target] = replace(env, open_rollback=None)
        else:
            opened = op.version if op.state == "open" else None
            art.environments[op.target] = replace(env, open_promotion=opened)

    @staticmethod
    def _env(art: ReplayedArtifact, name: str) -> EnvironmentStatus:
        return art.environments.get(name) or EnvironmentStatus(environment=name)

    def result(self) -> list[ReplayedArtifact]:
        return sorted(self._artifacts.values(), key=lambda a: a.repository)


# ---- history ----------------------------------------------------------------------------

KIND_ALIASES: dict[str, tuple[str, ...]] = {
    "promote": ("PromotionCompleted",),
    "promotion": ("PromotionRequested", "PromotionCompleted", "PromotionRejected"),
    "reject": ("PromotionRejected", "RollbackRejected", "LockRejected"),
    "rollback": ("RolledBack",),
    "lock": ("EnvironmentLocked", "LockBroken"),
    "unlock": ("EnvironmentUnlocked",),
    "gate": ("GatePassed", "GateFailed"),
    "signature": ("SignatureVerified", "SignatureRejected"),
    "tag": ("TagWritten", "TagsCollected"),
    "gc": ("TagsCollected",),
}


def kinds_for(names: tuple[str, ...]) -> frozenset[str]:
    """Event kinds named by ``--kind`` values (event names or aliases, any case)."""
    known = {e.__name__.lower(): e.__name__ for e in ev.EVENT_TYPES}
    out: set[str] = set()
    for name in names:
        key = name.strip().lower()
        if key in KIND_ALIASES:
            out.update(KIND_ALIASES[key])
        elif key in known:
            out.add(known[key])
        else:
            choices = sorted({*KIND_ALIASES, *known.values()})
            raise ValueError(f"unknown kind {name!r}; use one of: {', '.join(choices)}")
    return frozenset(out)


@dataclass(frozen=True)
class HistoryFilter:
    """What ``floe audit history`` keeps; empty fields keep everything."""

    environments: tuple[str, ...] = ()
    digest: str | None = None
    operator: str | None = None
    kinds: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def keeps(self, entry: AuditEntry, at: datetime) -> bool:
        return (
            (not self.environments or entry.environment in self.environments)
            and (not self.kinds or entry.kind in self.kinds)
            and (self.operator is None or entry.operator == self.operator)
            and (self.since is None or at >= self.since)
            and (self.until is None or at <= self.until)
            and (self.digest is None or _digest_matches(entry.digest, self.digest))
        )


def _digest_matches(digest: str, wanted: str) -> bool:
    if not digest:
        return False
    return digest == wanted or digest.removeprefix("sha256:").startswith(
        wanted.removeprefix("sha256:"))


@dataclass(frozen=True)
class AuditEntry:
    """One event as a line of history."""

    position: int
    artifact_id: str
    event_version: int
    kind: str
    environment: str
    version: str
    digest: str
    operator: str
    at: str
    summary: str
    ref_id: str = ""
    trace_id: str = ""
    identified_by: str | None = None  # oidc | registry | local (FR-045)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Promo:
    target: str
    version: str
    digest: str


class HistoryFold:
    """Every event as an :class:`AuditEntry`, filtered; keeps the newest ``limit``."""

    def __init__(self, keep: HistoryFilter, limit: int | None = None) -> None:
        self.keep = keep
        self._entries: deque[AuditEntry] = deque(maxlen=limit)
        self._promos: dict[str, _Promo] = {}

    def feed(self, position: int, event: ev.ArtifactEvent) -> None:
        pid = getattr(event, "promotion_id", "")
        if isinstance(event, ev.PromotionRequested):
            self._promos[pid] = _Promo(event.target_environment, event.version, event.digest)
        promo = self._promos.get(pid, _Promo("", "", ""))
        entry = AuditEntry(
            position=position, artifact_id=str(event.originator_id),
            event_version=event.originator_version, kind=event.kind,
            environment=str(_first(event, "target_environment", "environment") or promo.target),
            version=str(_first(event, "version") or promo.version),
            digest=str(_first(event, "digest") or _observed_digest(event) or promo.digest),
            operator=event.operator, at=event.timestamp.isoformat(), summary=event_summary(event),
            ref_id=str(pid or getattr(event, "rollback_id", "")), trace_id=event.trace_id,
            identified_by=event.identified_by,
        )
        if self.keep.keeps(entry, event.timestamp):
            self._entries.append(entry)

    def entries(self) -> list[AuditEntry]:
        """Newest first."""
        return list(reversed(self._entries))


def _observed_digest(event: ev.ArtifactEvent) -> str:
    """The artifact another ledger's promotion, rollback or adoption record is about (a lock
    record hangs from whatever ran then: the lock is about the environment, not it)."""
    if isinstance(event, ev.RecordObserved) and event.record_kind != "lock":
        return event.subject_digest
    return ""


def _first(event: ev.ArtifactEvent, *names: str) -> Any:
    for name in names:
        value = getattr(event, name, None)
        if value:
            return value
    return None


def event_summary(event: ev.ArtifactEvent) -> str:
    """One human line for an event."""
    e: Any = event
    match event:
        case ev.ArtifactRegistered():
            return f"ledger started for {e.repository}"
        case ev.VersionObserved():
            return f"{e.version} seen as {e.tag}"
        case ev.PromotionRequested():
            return f"{e.version}: {e.source_environment or 'release'} -> {e.target_environment}"
        case ev.PromotionRejected():
            return f"refused ({e.code}): {e.reason}"
        case ev.SignatureVerified() | ev.SignatureRejected():
            return f"signature {e.verdict.get('status', '?')}"
        case ev.GatePassed() | ev.GateFailed():
            return f"gate {e.result.get('gate', '?')}: {e.result.get('status', '?')}"
        case ev.TagWritten():
            return f"tag {e.tag}" + (" (already there)" if e.already_present else "")
        case ev.PromotionCompleted():
            return f"{e.version} promoted to {e.target_environment} ({', '.join(e.tags)})"
        case ev.RollbackRequested():
            return f"rollback of {e.environment} to {e.version} ({e.rollback_tag}): {e.reason}"
        case ev.RolledBack():
            return f"rolled back to {e.version} ({e.rollback_tag}): {e.reason}"
        case ev.RecordObserved():
            return observed_summary(event)
        case ev.TagsCollected():
            return (f"gc --keep {e.keep} deleted {len(e.deleted)} tag(s)"
                    + (f": {', '.join(sorted(e.deleted))}" if e.deleted else "")
                    + (f"; {len(e.absent)} already gone" if e.absent else ""))
    return str(getattr(e, "reason", "") or event.kind)


def observed_summary(e: ev.RecordObserved) -> str:
    """What another ledger's record says, who acted and which ledger wrote it (the event's
    own operator is who folded it here)."""
    what = {
        "promotion": f"{e.version} promoted {e.source_environment or 'release'} -> "
                     f"{e.environment}",
        "rollback": f"{e.environment} rolled back to {e.version}",
        "lock": f"{e.environment} {e.status or 'locked'}",
        "adoption": f"{e.version} adopted in {e.environment}",
    }.get(e.record_kind, f"{e.record_kind} in {e.environment}")
    text = f"{what} by {e.recorded_operator} (record of ledger {e.source_ledger})"
    return f"{text}: {e.reason}" if e.reason else text

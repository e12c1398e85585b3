"""Environment state and history as a fold over the ledger.

:func:`project` turns one event into view operations. It is pure, so the same fold
drives the SQLite and PostgreSQL read models and can be rebuilt from zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC
from typing import Any
from uuid import UUID

from floe_ledger.domain.model import events as ev
from floe_ledger.projections.rows import ROLLING_BACK, EnvironmentStatus, HistoryEntry

__all__ = ["EnvironmentStatus", "HistoryEntry", "ViewOp", "project"]


@dataclass(frozen=True)
class RegisterArtifact:
    artifact_id: UUID
    repository: str


@dataclass(frozen=True)
class SetLive:
    artifact_id: UUID
    environment: str
    version: str
    digest: str
    by: str
    at: str
    via: str
    ref_id: str


@dataclass(frozen=True)
class SetLock:
    artifact_id: UUID
    environment: str
    locked: bool
    reason: str
    by: str
    at: str


@dataclass(frozen=True)
class SetPromotion:
    """The lifecycle row of one promotion (open, completed or rejected) or rollback
    (``rolling_back``, then completed)."""

    artifact_id: UUID
    promotion_id: str
    version: str
    target: str
    state: str
    operator: str
    at: str


@dataclass(frozen=True)
class AppendHistory:
    """Add one row to an artifact's history."""

    artifact_id: UUID
    entry: HistoryEntry


def _history(artifact_id: UUID, environment: str, kind: str, version: str, digest: str,
             operator: str, at: str, *, reason: str = "", ref_id: str = "",
             details: dict[str, Any] | None = None) -> AppendHistory:
    return AppendHistory(artifact_id, HistoryEntry(environment, kind, version, digest, operator,
                                                   at, reason, ref_id, dict(details or {})))


ViewOp = RegisterArtifact | SetLive | SetLock | SetPromotion | AppendHistory


def project(event: ev.ArtifactEvent) -> list[ViewOp]:
    """The view operations one event implies (possibly none)."""
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return []
    # Another ledger's record: its history rows say how *that* operator was identified.
    who = (event.recorded_identified_by if isinstance(event, ev.RecordObserved)
           else event.identified_by)
    return _identified(handler(event), who)


def _identified(ops: list[ViewOp], identified_by: str | None) -> list[ViewOp]:
    """History rows say how their operator was identified (FR-045), when the event does."""
    if identified_by is None:
        return ops
    return [AppendHistory(op.artifact_id, replace(op.entry, identified_by=identified_by))
            if isinstance(op, AppendHistory) else op for op in ops]


def _at(event: ev.ArtifactEvent) -> str:
    return event.timestamp.isoformat()


def _registered(e: Any) -> list[ViewOp]:
    return [RegisterArtifact(e.originator_id, e.repository)]


def _requested(e: Any) -> list[ViewOp]:
    return [SetPromotion(e.originator_id, e.promotion_id, e.version, e.target_environment,
                         "open", e.operator, _at(e))]


def _completed(e: Any) -> list[ViewOp]:
    aid, at = e.originator_id, _at(e)
    return [
        SetPromotion(aid, e.promotion_id, e.version, e.target_environment, "completed",
                     e.operator, at),
        SetLive(aid, e.target_environment, e.version, e.digest, e.operator, at, "promotion",
                e.promotion_id),
        _history(aid, e.target_environment, "PROMOTED", e.version, e.digest, e.operator, at,
                      ref_id=e.promotion_id,
                      details={"source": e.source_environment, "tags": e.tags}),
    ]


def _rejected(e: Any) -> list[ViewOp]:
    aid, at = e.originator_id, _at(e)
    if isinstance(e, (ev.RollbackRejected, ev.LockRejected)):
        kind = "ROLLBACK_REJECTED" if isinstance(e, ev.RollbackRejected) else "LOCK_REJECTED"
        return [_history(aid, e.target_environment, kind, e.version, "",
                              e.operator, at, reason=e.reason, ref_id=e.promotion_id,
                              details={"code": e.code, "exit_code": e.exit_code})]
    return [
        SetPromotion(aid, e.promotion_id, e.version, e.target_environment, "rejected",
                     e.operator, at),
        _history(aid, e.target_environment, "REJECTED", e.version, "", e.operator, at,
                      reason=e.reason, ref_id=e.promotion_id,
                      details={"code": e.code, "exit_code": e.exit_code}),
    ]


def _rollback_requested(e: Any) -> list[ViewOp]:
    """An open rollback shares the promotions' lifecycle rows, in state ``rolling_back``."""
    return [SetPromotion(e.originator_id, e.rollback_id, e.version, e.environment,
                         ROLLING_BACK, e.operator, _at(e))]


def _rolled_back(e: Any) -> list[ViewOp]:
    aid, at = e.originator_id, _at(e)
    return [
        SetPromotion(aid, e.rollback_id, e.version, e.environment, "completed", e.operator, at),
        SetLive(aid, e.environment, e.version, e.digest, e.operator, at, "rollback",
                e.rollback_id),
        _history(aid, e.environment, "ROLLBACK", e.version, e.digest, e.operator, at,
                      reason=e.reason, ref_id=e.rollback_id,
                      details={"tag": e.rollback_tag, "previous_version": e.previous_version}),
    ]


def _locked(e: Any) -> list[ViewOp]:
    aid, at = e.originator_id, _at(e)
    return [SetLock(aid, e.environment, True, e.reason, e.operator, at),
            _history(aid, e.environment, "LOCKED", "", "", e.operator, at, reason=e.reason)]


def _unlocked(e: Any) -> list[ViewOp]:
    aid, at = e.originator_id, _at(e)
    return [SetLock(aid, e.environment, False, "", "", ""),
            _history(aid, e.environment, "UNLOCKED", "", "", e.operator, at, reason=e.reason)]


def _lock_broken(e: Any) -> list[ViewOp]:
    return [_history(e.originator_id, e.environment, "BREAK_GLASS", "", "", e.operator,
                          _at(e), reason=e.reason, details={"lock_reason": e.lock_reason})]


def _observed(e: Any) -> list[ViewOp]:
    """Another ledger's record, folded here: the same rows as if this ledger had done it,
    at the time (in UTC, like this ledger's own rows: history sorts by it) and by the
    operator the record names."""
    aid, env, at, who = e.originator_id, e.environment, \
        e.recorded_at.astimezone(UTC).isoformat(), e.recorded_operator
    origin = {"observed_from": e.source_ledger, "record": e.record_digest}
    ops: list[ViewOp] = []
    if e.record_kind == "promotion":
        ops += [SetPromotion(aid, e.record_id, e.version or "", env, "completed", who, at),
                _history(aid, env, "PROMOTED", e.version or "", e.subject_digest, who, at,
                         ref_id=e.record_id,
                         details={"source": e.source_environment, **origin})]
    elif e.record_kind == "rollback":
        ops.append(_history(aid, env, "ROLLBACK", e.version or "", e.subject_digest, who, at,
                            reason=e.reason, ref_id=e.record_id, details=origin))
    elif e.record_kind == "adoption":
        ops.append(_history(aid, env, "ADOPTED", e.version or "", e.subject_digest, who, at,
                            reason=e.reason, ref_id=e.record_id, details=origin))
    elif e.record_kind == "lock":
        kind = "LOCKED" if e.status == "locked" else "UNLOCKED"
        ops.append(_history(aid, env, kind, "", "", who, at, reason=e.reason, details=origin))
    if e.goes_live:
        ops.append(SetLive(aid, env, e.version or "", e.subject_digest, who, at, e.record_kind,
                           e.record_id))
    if e.lock_effect:
        locked = e.lock_effect == "locked"
        ops.append(SetLock(aid, env, locked, e.reason if locked else "", who if locked else "",
                           at if locked else ""))
    return ops


def _adopted(e: Any) -> list[ViewOp]:
    return [_history(e.originator_id, e.environment, "ADOPTED", e.version, e.digest, e.operator,
                     _at(e), reason=e.reason, ref_id=e.adoption_id, details={"tag": e.tag})]


_HANDLERS: dict[type[ev.ArtifactEvent], Any] = {
    ev.ArtifactRegistered: _registered,
    ev.PromotionRequested: _requested,
    ev.PromotionCompleted: _completed,
    ev.PromotionRejected: _rejected,
    ev.RollbackRejected: _rejected,
    ev.LockRejected: _rejected,
    ev.RollbackRequested: _rollback_requested,
    ev.RolledBack: _rolled_back,
    ev.EnvironmentLocked: _locked,
    ev.EnvironmentUnlocked: _unlocked,
    ev.LockBroken: _lock_broken,
    ev.RecordObserved: _observed,
    ev.VersionAdopted: _adopted,
}

#: The only topics that change a view; other events (tags, gates, verdicts) are skipped
#: when folding, which is most of a stream.
PROJECTED_TOPICS: tuple[str, ...] = tuple(cls.TOPIC for cls in _HANDLERS)

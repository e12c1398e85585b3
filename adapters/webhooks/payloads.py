"""Webhook payloads from ledger events (FR-042, WH-02..04).

Every payload has ``event_type``, ``repository``, ``operator``, ``timestamp`` (UTC, ISO
8601), ``trace_id`` (the trace of the command that wrote the event, WH-10) and
``ledger_position``. Then, per event type:

- ``promote``: promotion_id, artifact_tag (the source tag, ENT-06), artifact_digest,
  version, source_env, target_env, environment (= target_env), tags
- ``rollback``: rollback_id, artifact_tag (VERSION-ENV), artifact_digest, version,
  environment, previous_version, previous_digest, rollback_tag, reason, impact_analysis
- ``lock`` / ``unlock``: environment, locked, reason, locked_by/unlocked_by,
  locked_at/unlocked_at (ENT-10)
- ``reject``: action (promote, rollback, lock), promotion_id (rollback_id for a
  rollback), artifact_tag, version, source_env, target_env, environment, code,
  exit_code, reason, hint
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from floe_ledger.domain.model import events as ev

EVENT_TYPES = ("promote", "rollback", "lock", "unlock", "reject")


def event_type_of(event: ev.ArtifactEvent) -> str | None:
    """The webhook event type of a ledger event, or None if it is not announced."""
    if isinstance(event, ev.PromotionCompleted):
        return "promote"
    if isinstance(event, ev.RolledBack):
        return "rollback"
    if isinstance(event, ev.EnvironmentLocked):
        return "lock"
    if isinstance(event, ev.EnvironmentUnlocked):
        return "unlock"
    if isinstance(event, ev.PromotionRejected):
        return "reject"
    return None


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _tag(version: str, env: str | None) -> str:
    return f"{version}-{env}" if env else version


def _promote(e: ev.PromotionCompleted) -> dict[str, Any]:
    return {"promotion_id": e.promotion_id, "artifact_tag": _tag(e.version, e.source_environment),
            "artifact_digest": e.digest, "version": e.version,
            "source_env": e.source_environment, "target_env": e.target_environment,
            "environment": e.target_environment, "tags": list(e.tags)}


def _rollback(e: ev.RolledBack) -> dict[str, Any]:
    return {"rollback_id": e.rollback_id, "artifact_tag": _tag(e.version, e.environment),
            "artifact_digest": e.digest, "version": e.version, "environment": e.environment,
            "previous_version": e.previous_version, "previous_digest": e.previous_digest,
            "rollback_tag": e.rollback_tag, "reason": e.reason, "impact_analysis": e.impact}


def _lock(e: ev.EnvironmentLocked | ev.EnvironmentUnlocked, locked: bool) -> dict[str, Any]:
    word = "locked" if locked else "unlocked"
    return {"environment": e.environment, "locked": locked, "reason": e.reason,
            f"{word}_by": e.operator, f"{word}_at": iso(e.timestamp)}


def _reject(e: ev.PromotionRejected) -> dict[str, Any]:
    action = ("rollback" if isinstance(e, ev.RollbackRejected)
              else "lock" if isinstance(e, ev.LockRejected) else "promote")
    id_key = "rollback_id" if action == "rollback" else "promotion_id"
    return {"action": action, id_key: e.promotion_id,
            "artifact_tag": _tag(e.version, e.source_environment) if e.version else None,
            "version": e.version, "source_env": e.source_environment,
            "target_env": e.target_environment, "environment": e.target_environment,
            "code": e.code, "exit_code": e.exit_code, "reason": e.reason, "hint": e.hint}


def _details(event: ev.ArtifactEvent) -> dict[str, Any]:
    if isinstance(event, ev.PromotionCompleted):
        return _promote(event)
    if isinstance(event, ev.RolledBack):
        return _rollback(event)
    if isinstance(event, ev.EnvironmentLocked):
        return _lock(event, True)
    if isinstance(event, ev.EnvironmentUnlocked):
        return _lock(event, False)
    if isinstance(event, ev.PromotionRejected):
        return _reject(event)
    return {}


def payload_for(event: ev.ArtifactEvent, event_type: str, *, repository: str,
                position: int) -> dict[str, Any]:
    """The JSON document POSTed for ``event``."""
    return {"event_type": event_type, "repository": repository, **_details(event),
            "operator": event.operator, "timestamp": iso(event.timestamp),
            "trace_id": event.trace_id, "ledger_position": position}

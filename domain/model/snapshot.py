"""Snapshots of the Artifact aggregate: its state as JSON at a version, so loading a long
stream need not replay it all. A convenience cache only: ``floe audit verify`` never reads
snapshots, it replays events.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, ClassVar

from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.state import (
    Live,
    Lock,
    LockChange,
    OpenRollback,
    Promotion,
    ledger_id,
)


class ArtifactSnapshot(ev.ArtifactEvent):
    """The aggregate's state at a version, so loading need not replay the whole stream.

    A convenience cache: ``floe audit verify`` never reads snapshots, it replays events.
    The state carries ``chain_head``, so events appended after it still link.
    """

    TOPIC: ClassVar[str] = ev.TOPIC_PREFIX + "ArtifactSnapshot.v1"
    topic: str
    state: dict[str, Any]

    @classmethod
    def take(cls, aggregate: Artifact) -> ArtifactSnapshot:
        return cls(originator_id=aggregate.id, originator_version=aggregate.version,
                   timestamp=cls.create_timestamp(), topic=Artifact.TOPIC,
                   state=snapshot(aggregate), prev_hash=aggregate.chain_head)

    def mutate(self, aggregate: Any) -> Any:
        art = Artifact.__new__(Artifact)
        art.__base_init__(self.originator_id, self.originator_version, self.timestamp)
        restore(art, self.state)
        return art


def _live(d: dict[str, Any]) -> Live:
    return Live(**{**d, "at": datetime.fromisoformat(d["at"])})


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _promotion_json(p: Promotion) -> dict[str, Any]:
    data = asdict(p)
    data["tags"] = [[reg, tag, digest] for (reg, tag), digest in p.tags.items()]
    for key in ("requested_at", "lease_until", "completed_at"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def _promotion(d: dict[str, Any]) -> Promotion:
    tags = {(reg, tag): digest for reg, tag, digest in d["tags"]}
    return Promotion(**{**d, "tags": tags, "requested_at": datetime.fromisoformat(
        d["requested_at"]), "lease_until": _when(d["lease_until"]),
        "completed_at": _when(d["completed_at"])})


def _live_json(live: Live) -> dict[str, Any]:
    return {**asdict(live), "at": live.at.isoformat()}


def snapshot(art: Any) -> dict[str, Any]:
    """The aggregate's state as JSON-safe data (``restore`` is the inverse)."""
    return {
        "repository": art.repository,
        "chain_head": art.chain_head,
        "versions": dict(art.versions),
        "live": {env: _live_json(lv) for env, lv in art.live.items()},
        "promotions": {pid: _promotion_json(p) for pid, p in art.promotions.items()},
        "by_target": [[v, env, pid] for (v, env), pid in art.by_target.items()],
        "rollbacks": [[v, env, n] for (v, env), n in art.rollbacks.items()],
        "locks": {env: {"reason": lk.reason, "by": lk.by, "at": lk.at.isoformat()}
                  for env, lk in art.locks.items()},
        "timeline": {env: [_live_json(lv) for lv in lives]
                     for env, lives in art.timeline.items()},
        "ledger_id": art.ledger_id,
        "observed": sorted(art.observed),
        "lock_changed": {env: at.isoformat() for env, at in art.lock_changed.items()},
        "own_lock_changes": {env: {**asdict(c), "at": c.at.isoformat()}
                             for env, c in art.own_lock_changes.items()},
        "rollbacks_requested": {env: {**asdict(r), "requested_at": r.requested_at.isoformat()}
                                for env, r in art.rollbacks_requested.items()},
        "collected": sorted(art.collected),
    }


def restore(art: Any, state: dict[str, Any]) -> None:
    """Set the aggregate's fields from :func:`snapshot` data."""
    art.repository = state["repository"]
    art.chain_head = state["chain_head"]
    art.versions = dict(state["versions"])
    art.live = {env: _live(d) for env, d in state["live"].items()}
    art.promotions = {pid: _promotion(d) for pid, d in state["promotions"].items()}
    art.by_target = {(v, env): pid for v, env, pid in state["by_target"]}
    art.rollbacks = {(v, env): int(n) for v, env, n in state["rollbacks"]}
    art.locks = {env: Lock(d["reason"], d["by"], datetime.fromisoformat(d["at"]))
                 for env, d in state["locks"].items()}
    art.timeline = {env: [_live(d) for d in lives] for env, lives in state["timeline"].items()}
    # Snapshots taken before ledger ids: the id is derived once, from the snapshot itself.
    art.ledger_id = state.get("ledger_id") or ledger_id(art.id, art.created_on)
    art.observed = set(state.get("observed", []))
    art.lock_changed = {env: datetime.fromisoformat(at)
                        for env, at in state.get("lock_changed", {}).items()}
    art.own_lock_changes = {env: LockChange(**{**d, "at": datetime.fromisoformat(d["at"])})
                            for env, d in state.get("own_lock_changes", {}).items()}
    art.rollbacks_requested = {
        env: OpenRollback(**{**d, "requested_at": datetime.fromisoformat(d["requested_at"])})
        for env, d in state.get("rollbacks_requested", {}).items()}
    art.collected = set(state.get("collected", []))

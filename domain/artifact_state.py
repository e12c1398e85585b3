"""The Artifact aggregate's state types, and their JSON form for snapshots."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from floe_ledger.domain.ports import Operator


@dataclass(frozen=True)
class Actor:
    """Who is acting (and how we know), and the trace the action belongs to."""

    operator: str
    trace_id: str = ""
    identity: Operator | None = None

    @property
    def who(self) -> Operator:
        return self.identity or Operator(self.operator)


@dataclass
class Live:
    version: str
    digest: str
    by: str
    at: datetime
    via: str  # promotion | rollback
    ref_id: str


@dataclass
class Promotion:
    """A promotion from its request to its completion (or refusal)."""

    promotion_id: str
    version: str
    digest: str
    source: str | None
    target: str
    operator: str
    requested_at: datetime
    owner: str = ""
    lease_until: datetime | None = None
    authorization: dict[str, Any] = field(default_factory=dict)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)  # (registry, tag) -> digest
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)
    state: str = "open"  # open | completed | rejected
    completed_at: datetime | None = None


@dataclass
class Lock:
    reason: str
    by: str
    at: datetime


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

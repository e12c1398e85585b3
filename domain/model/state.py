"""The Artifact aggregate's state: its types, the fold of its events, the questions it
answers, and its JSON form for snapshots."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from floe_ledger.domain.model import events as ev


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


class ArtifactState:
    """What the Artifact aggregate knows: the fold of its events (``when``) and the
    read-only questions asked of it while deciding. Commands live on
    :class:`floe_ledger.domain.model.artifact.Artifact`."""

    def __init__(self, repository: str) -> None:
        self.repository = repository
        self.chain_head = ev.GENESIS
        self.versions: dict[str, str] = {}
        self.live: dict[str, Live] = {}
        self.promotions: dict[str, Promotion] = {}
        self.by_target: dict[tuple[str, str], str] = {}  # (version, env) -> latest promotion id
        self.rollbacks: dict[tuple[str, str], int] = {}
        self.locks: dict[str, Lock] = {}
        self.timeline: dict[str, list[Live]] = {}  # env -> what went live there, in order

    # ---- queries ------------------------------------------------------------------------

    def completed(self, version: str, env: str) -> Promotion | None:
        pid = self.by_target.get((version, env))
        promo = self.promotions.get(pid) if pid else None
        return promo if promo and promo.state == "completed" else None

    def open_promotion(self, version: str, env: str) -> Promotion | None:
        pid = self.by_target.get((version, env))
        promo = self.promotions.get(pid) if pid else None
        return promo if promo and promo.state == "open" else None

    def versions_in(self, env: str) -> list[str]:
        """Versions promoted into ``env`` (completed), oldest first."""
        found = [
            p for p in self.promotions.values() if p.target == env and p.state == "completed"
        ]
        found.sort(key=lambda p: p.completed_at or p.requested_at)
        return list(dict.fromkeys(p.version for p in found))

    def gate_durations(self) -> dict[str, list[int]]:
        """Past durations (ms) of each gate that ran, from every promotion's results."""
        out: dict[str, list[int]] = {}
        for promo in self.promotions.values():
            for result in promo.gate_results:
                if result.get("status") in ("passed", "warning", "failed") and isinstance(
                        result.get("duration_ms"), int):
                    out.setdefault(str(result.get("gate")), []).append(result["duration_ms"])
        return out

    # ---- evolve -------------------------------------------------------------------------

    @singledispatchmethod
    def when(self, event: ev.ArtifactEvent) -> None:
        """Events with no effect on decision state (e.g. ArtifactRegistered)."""

    @when.register
    def _(self, event: ev.VersionObserved) -> None:
        self.versions[event.version] = event.digest

    @when.register
    def _(self, event: ev.PromotionRequested) -> None:
        self.versions.setdefault(event.version, event.digest)
        self.promotions[event.promotion_id] = Promotion(
            promotion_id=event.promotion_id, version=event.version, digest=event.digest,
            source=event.source_environment, target=event.target_environment,
            operator=event.operator, requested_at=event.timestamp, owner=event.owner,
            lease_until=event.lease_until, authorization=dict(event.authorization),
        )
        self.by_target[(event.version, event.target_environment)] = event.promotion_id

    @when.register
    def _(self, event: ev.PromotionRejected) -> None:
        promo = self.promotions.get(event.promotion_id)
        if promo is not None:
            promo.state = "rejected"

    @when.register
    def _(self, event: ev.SignatureVerified) -> None:
        self.promotions[event.promotion_id].signature = event.verdict

    @when.register
    def _(self, event: ev.SignatureRejected) -> None:
        self.promotions[event.promotion_id].signature = event.verdict

    @when.register
    def _(self, event: ev.GatePassed) -> None:
        self.promotions[event.promotion_id].gate_results.append(event.result)

    @when.register
    def _(self, event: ev.GateFailed) -> None:
        self.promotions[event.promotion_id].gate_results.append(event.result)

    @when.register
    def _(self, event: ev.TagWritten) -> None:
        self.promotions[event.promotion_id].tags[(event.registry, event.tag)] = event.digest

    @when.register
    def _(self, event: ev.PromotionCompleted) -> None:
        promo = self.promotions[event.promotion_id]
        promo.state = "completed"
        promo.completed_at = event.timestamp
        self._go_live(promo.target, Live(promo.version, promo.digest, promo.operator,
                                         event.timestamp, "promotion", promo.promotion_id))

    @when.register
    def _(self, event: ev.RolledBack) -> None:
        self.rollbacks[(event.version, event.environment)] = event.sequence
        self._go_live(event.environment, Live(event.version, event.digest, event.operator,
                                              event.timestamp, "rollback", event.rollback_id))

    def _go_live(self, env: str, live: Live) -> None:
        self.live[env] = live
        self.timeline.setdefault(env, []).append(live)

    @when.register
    def _(self, event: ev.EnvironmentLocked) -> None:
        self.locks[event.environment] = Lock(event.reason, event.operator, event.timestamp)

    @when.register
    def _(self, event: ev.EnvironmentUnlocked) -> None:
        self.locks.pop(event.environment, None)


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

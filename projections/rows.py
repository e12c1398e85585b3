"""Rows of the read models, as the queries return them (no event machinery imported)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The state of a rollback's lifecycle row in the views while it is open.
ROLLING_BACK = "rolling_back"


@dataclass(frozen=True)
class EnvironmentStatus:
    """One row of ``floe platform status`` (JSON-04)."""

    environment: str
    version: str | None = None
    digest: str | None = None
    promoted_by: str | None = None
    promoted_at: str | None = None
    via: str | None = None
    locked: bool = False
    lock_reason: str | None = None
    locked_by: str | None = None
    locked_at: str | None = None
    open_promotion: str | None = None
    open_rollback: str | None = None  # a rollback requested, not completed (NFR-004)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class HistoryEntry:
    environment: str
    kind: str
    version: str
    digest: str
    operator: str
    at: str
    reason: str = ""
    ref_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    identified_by: str | None = None  # oidc | registry | local; None: not recorded (FR-045)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def environment_status(env: str, r: Sequence[Any] | None, opened: str | None,
                       rolling: tuple[str, str] | None) -> EnvironmentStatus:
    """One environment's status from its ``floe_env_state`` row (environment … locked_at;
    None: no row) and its newest open promotion and rollback (version, requested at)."""
    rollback = _open_rollback(rolling, r[4] if r is not None else None)
    if r is None:
        return EnvironmentStatus(environment=env, open_promotion=opened,
                                 open_rollback=rollback)
    return EnvironmentStatus(
        environment=env, version=r[1], digest=r[2], promoted_by=r[3], promoted_at=r[4],
        via=r[5], locked=bool(r[6]), lock_reason=r[7] or None, locked_by=r[8] or None,
        locked_at=r[9] or None, open_promotion=opened, open_rollback=rollback,
    )


def _open_rollback(requested: tuple[str, str] | None, live_since: str | None) -> str | None:
    """The version of the newest rollback requested and not completed, unless something went
    live after it was requested (as ``ArtifactState.open_rollback`` decides)."""
    if requested is None:
        return None
    version, at = requested
    if live_since and datetime.fromisoformat(live_since) >= datetime.fromisoformat(at):
        return None
    return version

"""Rows of the read models, as the queries return them (no event machinery imported)."""

from __future__ import annotations

from dataclasses import dataclass, field
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

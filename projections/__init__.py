"""Read models folded from the ledger."""

from floe_ledger.projections.environment import (
    AppendHistory,
    EnvironmentStatus,
    HistoryEntry,
    RegisterArtifact,
    SetLive,
    SetLock,
    SetPromotion,
    ViewOp,
    project,
)

__all__ = [
    "AppendHistory",
    "EnvironmentStatus",
    "HistoryEntry",
    "RegisterArtifact",
    "SetLive",
    "SetLock",
    "SetPromotion",
    "ViewOp",
    "project",
]

"""Read models folded from the ledger (pure: they import only the domain).

Names load on first use so that reading a view row never imports the event machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floe_ledger.projections.environment import (
        AppendHistory,
        RegisterArtifact,
        SetLive,
        SetLock,
        SetPromotion,
        ViewOp,
        project,
    )
    from floe_ledger.projections.rows import EnvironmentStatus, HistoryEntry

_HOMES = {"EnvironmentStatus": "rows", "HistoryEntry": "rows"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOMES.get(name, 'environment')}")
    return getattr(module, name)


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

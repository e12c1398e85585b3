"""Status without importing the event machinery: plain sqlite3 on current views.

``status`` must be quick (≤ 150 ms for the whole process). When the views are at
the head of the log this reads them directly; otherwise the caller catches up
through :class:`EventStoreLedger` first.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from floe_ledger.adapters.store.view_queries import TRACKING_NAME, read_history, read_statuses
from floe_ledger.projections.rows import EnvironmentStatus, HistoryEntry


class FastViews:
    """Read-only view access; ``current`` says whether the views are at the log head."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def current(self) -> bool:
        try:
            head = self.conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0] or 0
            row = self.conn.execute(
                "SELECT position FROM floe_tracking WHERE name = ?", (TRACKING_NAME,)
            ).fetchone()
        except sqlite3.OperationalError:
            return False
        return bool(row) and int(row[0]) >= int(head)

    def statuses(self, artifact_id: str, environments: list[str]) -> list[EnvironmentStatus]:
        return read_statuses(self.conn, "?", artifact_id, environments)

    def history(self, artifact_id: str, environment: str | None, limit: int) -> list[HistoryEntry]:
        return read_history(self.conn, "?", artifact_id, environment, limit)

    def close(self) -> None:
        self.conn.close()

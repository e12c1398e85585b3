"""``floe platform status``: the environments table, and each environment's history."""

from __future__ import annotations

from typing import Any

from floe_ledger.cli.output import Output
from floe_ledger.cli.render.cells import short_digest, utc_time


def render_status(out: Output, rows: list[dict[str, Any]], history: int) -> None:
    from rich.table import Table

    from floe_ledger.cli.render.text import escape

    table = Table(title="Environments", title_justify="left")
    rolled_back = any(r.get("rolled_back_by") for r in rows)  # its column only when needed
    for col in ("Environment", "Version", "Digest", "Promoted By", "At",
                *(["Rolled Back By"] if rolled_back else []), "Lock"):
        table.add_column(col)
    for r in rows:
        lock = (f"LOCKED by {r.get('locked_by')} at {utc_time(r.get('locked_at'))}: "
                f"{r.get('lock_reason')}" if r.get("locked") else "")
        version = r.get("version") or "-"
        if r.get("open_promotion"):
            version += f" (interrupted: {r['open_promotion']})"
        if r.get("open_rollback"):
            version += f" (interrupted rollback to {r['open_rollback']})"
        if r.get("via") == "rollback":
            version += " (rollback)"
        rolled = (f"{r['rolled_back_by']} at {utc_time(r.get('rolled_back_at'))}"
                  if r.get("rolled_back_by") else "")
        table.add_row(escape(r["environment"]), escape(version), short_digest(r.get("digest")),
                      escape(r.get("promoted_by") or "-"), utc_time(r.get("promoted_at")),
                      *([escape(rolled)] if rolled_back else []), escape(lock))
    out.console.print(table)
    if not history:
        return
    for r in rows:
        hist = Table(title=f"History: {r['environment']}", title_justify="left")
        for col in ("At", "Kind", "Version", "Operator", "Reason", "Identified By"):
            hist.add_column(col)
        for h in r.get("history") or []:
            hist.add_row(utc_time(h["at"]), escape(h["kind"]), escape(h["version"] or "-"),
                         escape(h["operator"]), escape(h["reason"] or ""),
                         escape(h.get("identified_by") or "-"))
        out.console.print(hist)

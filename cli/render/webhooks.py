"""``floe webhooks``: the deliveries table."""

from __future__ import annotations

from typing import Any

from floe_ledger.cli.output import Output


def render_deliveries(out: Output, rows: list[dict[str, Any]], title: str) -> None:
    """One row per delivery (``title: none`` when there are none)."""
    if not rows:
        out.console.print(f"{title}: none")
        return
    from rich.table import Table

    from floe_ledger.cli.render.text import escape

    table = Table(title=title, title_justify="left")
    for col in ("delivery", "endpoint", "event", "state", "attempts", "next attempt",
                "last error"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["delivery_id"][:8], escape(r["endpoint"]), r["event_type"], r["state"],
                      str(r["attempts"]), r["next_attempt_at"] or "-",
                      escape(r["last_error"] or "-"))
    out.console.print(table)

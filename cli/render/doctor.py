"""``floe doctor``'s report: one line per check, the fix under each that needs one."""

from __future__ import annotations

from typing import Any

from floe_ledger.cli.output import Output
from floe_ledger.cli.render.text import escape

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def render_checks(out: Output, rows: list[dict[str, Any]]) -> None:
    """``ok    registry       oci://… reachable …`` lines, then a one-line summary."""
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        status = row["status"]
        label = f"[{STYLE[status]}]{status:<4}[/{STYLE[status]}]"
        out.console.print(f"{label}  {escape(row['name'].ljust(width))}  {escape(row['message'])}")
        if row["hint"] and status in ("warn", "fail"):
            out.console.print(f"      {' ' * width}  [dim]fix:[/dim] {escape(row['hint'])}")
    failed = sum(r["status"] == "fail" for r in rows)
    warned = sum(r["status"] == "warn" for r in rows)
    if failed:
        out.console.print(f"{failed} to fix, {warned} warning(s)")
    elif warned:
        out.console.print(f"nothing to fix, {warned} warning(s)")
    else:
        out.console.print("nothing to fix")

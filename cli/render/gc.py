"""``floe gc``: its JSON fields and its table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from floe_ledger.cli.output import Output

if TYPE_CHECKING:
    from floe_ledger.domain.services.requests import GcResult


def gc_payload(result: GcResult, operator: str) -> dict[str, Any]:
    """The collection's fields for JSON and YAML: ``would_delete`` (the plan, also in a dry
    run), ``deleted`` (what went; empty in a dry run), ``absent``, ``kept`` and ``tags``,
    every environment tag with its action and why."""
    def tags(action: str) -> list[str]:
        return sorted(str(p["tag"]) for p in result.plan if p["action"] == action)
    return {
        "collection_id": result.collection_id, "keep": result.keep,
        "environments": result.environments, "dry_run": result.dry_run,
        "would_delete": tags("delete"), "deleted": sorted(result.deleted),
        "absent": sorted(result.absent) if not result.dry_run else tags("absent"),
        "kept": tags("keep"), "tags": result.plan, "record_digests": result.record_digests,
        "warnings": result.warnings, "operator": operator,
    }


def render_gc(out: Output, result: GcResult) -> None:
    """One row per environment tag (what goes first), then a summary line."""
    from rich.table import Table

    from floe_ledger.cli.render.cells import short_digest
    from floe_ledger.cli.render.text import escape

    verb = "Would delete" if result.dry_run else "Deleted"
    table = Table(title=f"Environment tags (keep {result.keep})", title_justify="left")
    for col in ("Tag", "Environment", "Digest", "Action", "Why"):
        table.add_column(col)
    order = {"delete": 0, "absent": 1, "keep": 2}
    for p in sorted(result.plan, key=lambda p: (order.get(p["action"], 3), p["tag"])):
        action = p["action"]
        if action == "delete":
            action = "would delete" if result.dry_run else (
                "deleted" if p["tag"] in result.deleted else "not deleted")
        table.add_row(escape(p["tag"]), escape(p["environment"]), short_digest(p["digest"]),
                      escape(action), escape(p["reason"]))
    out.console.print(table)
    count = (sum(1 for p in result.plan if p["action"] == "delete") if result.dry_run
             else len(result.deleted))
    out.console.print(f"{verb} {count} tag(s) in {', '.join(map(escape, result.environments))}"
                      + ("; nothing was changed (--dry-run)" if result.dry_run else ""))
    for warning in result.warnings:
        out.warn(warning)

"""``floe platform rollback``: its JSON fields, its lines, and the impact analysis."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from floe_ledger.cli.output import Output

if TYPE_CHECKING:
    from floe_ledger.domain.services.requests import RollbackResult


def rollback_payload(result: RollbackResult, reason: str | None,
                     operator: str) -> dict[str, Any]:
    """The rollback's fields for JSON and YAML (``reason`` is None for a dry run without one)."""
    return {
        "rollback_id": result.rollback_id, "artifact_digest": result.digest,
        "version": result.version, "environment": result.environment,
        "previous_version": result.previous_version,
        "previous_digest": result.previous_digest, "rollback_tag": result.rollback_tag,
        "tags": result.tags, "reason": reason, "impact_analysis": result.impact,
        "dry_run": result.dry_run, "nothing_to_do": result.nothing_to_do,
        "resumed": result.resumed,
        "would_succeed": not result.blocking if result.dry_run else None,
        "needs_confirmation": result.needs_confirmation, "blocking": result.blocking,
        "operator": operator,
    }


def render_rollback(out: Output, result: RollbackResult, reason: str) -> None:
    from floe_ledger.cli.render.text import escape

    c = out.console
    env, version = escape(result.environment), escape(result.version)
    if result.nothing_to_do:
        c.print(f"{version} is already live in {env}; nothing to do")
        return
    if result.dry_run:
        verdict = ("[bold red]BLOCKED[/bold red]" if result.blocking
                   else "[yellow]would ask to confirm[/yellow]" if result.needs_confirmation
                   else "[green]would succeed[/green]")
        c.print(f"Dry run: roll {env} back to {version}: {verdict}")
        for block in result.blocking:
            c.print(f"  [red]blocked:[/red] {escape(block['message'])}")
            if block.get("hint"):
                c.print(f"  hint: {escape(block['hint'])}")
    else:
        c.print(f"[yellow]Rolled back[/yellow] {env} to {version}")
    c.print(f"  previous    {escape(result.previous_version or '-')} "
            f"({result.previous_digest or '-'})")
    c.print(f"  digest      {result.digest}")
    if result.rollback_tag:
        verb = "would tag" if result.dry_run else "tag"
        c.print(f"  {verb:<11} {escape(result.rollback_tag)} (immutable)")
        c.print(f"  latest      latest-{env} -> {version}")
    if reason:
        c.print(f"  reason      \"{escape(reason)}\"")
    c.print(f"  trace id    {out.trace_id}")


def render_impact(say: Callable[[str], None], impact: dict[str, Any]) -> None:
    """The impact analysis, one fact a line; ``say`` prints a line (stdout or stderr)."""
    from floe_ledger.cli.render.text import escape

    colour = {"SAFE": "green", "RISKY": "yellow", "BLOCKED": "red"}.get(impact["risk"], "white")
    say(f"Impact analysis: [{colour}]{impact['risk']}[/{colour}]")
    undone = impact.get("undone") or []
    say(f"  undoes {len(undone)} version(s): " + ", ".join(
        f"{escape(u['version'])} (live since {u['went_live_at']})" for u in undone))
    breaking = impact.get("breaking_changes") or []
    say(f"  breaking changes: {len(breaking)}")
    for b in breaking:
        say(f"    - {escape(b['detail'])}")
    for lat in impact.get("later_environments_newer") or []:
        say(f"  {escape(lat['environment'])} runs newer {escape(lat['version'])}")
    products = impact.get("affected_products") or []
    say(f"  affected products: {len(products)}")
    for p in products:
        state = {True: "ok", False: "BREAKS", None: "notify"}[p["satisfied"]]
        say(f"    - {escape(p['name'])} {escape(p['constraint'] or '')} ({state})")
    diff = impact.get("diff") or {}
    if diff:
        ann = diff.get("annotations", {})
        layers = diff.get("layers", {})
        say(f"  diff: annotations +{len(ann.get('added', {}))} -{len(ann.get('removed', {}))}"
            f" ~{len(ann.get('changed', {}))}; files +{len(layers.get('added', []))} "
            f"-{len(layers.get('removed', []))} ~{len(layers.get('changed', []))}; "
            f"config changed: {diff.get('config_changed')}")
    for rec in impact.get("recommendations") or []:
        say(f"  recommendation: {escape(rec)}")

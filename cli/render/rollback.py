"""``floe platform rollback``: its JSON fields, its lines, and the impact analysis."""

from __future__ import annotations

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
        "resumed": result.resumed, "operator": operator,
    }


def render_rollback(out: Output, result: RollbackResult, reason: str) -> None:
    from floe_ledger.cli.render.text import escape

    c = out.console
    env, version = escape(result.environment), escape(result.version)
    if result.nothing_to_do:
        c.print(f"{version} is already live in {env}; nothing to do")
        return
    if result.dry_run:
        c.print(f"Dry run: roll {env} back to {version}")
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


def render_impact(out: Output, impact: dict[str, Any]) -> None:
    from floe_ledger.cli.render.text import escape

    c = out.console
    colour = {"SAFE": "green", "RISKY": "yellow", "BLOCKED": "red"}.get(impact["risk"], "white")
    c.print(f"Impact analysis: [{colour}]{impact['risk']}[/{colour}]")
    undone = impact.get("undone") or []
    c.print(f"  undoes {len(undone)} version(s): " + ", ".join(
        f"{escape(u['version'])} (live since {u['went_live_at']})" for u in undone))
    breaking = impact.get("breaking_changes") or []
    c.print(f"  breaking changes: {len(breaking)}")
    for b in breaking:
        c.print(f"    - {escape(b['detail'])}")
    for lat in impact.get("later_environments_newer") or []:
        c.print(f"  {escape(lat['environment'])} runs newer {escape(lat['version'])}")
    products = impact.get("affected_products") or []
    c.print(f"  affected products: {len(products)}")
    for p in products:
        state = {True: "ok", False: "BREAKS", None: "notify"}[p["satisfied"]]
        c.print(f"    - {escape(p['name'])} {escape(p['constraint'] or '')} ({state})")
    diff = impact.get("diff") or {}
    if diff:
        ann = diff.get("annotations", {})
        layers = diff.get("layers", {})
        c.print(f"  diff: annotations +{len(ann.get('added', {}))} -{len(ann.get('removed', {}))}"
                f" ~{len(ann.get('changed', {}))}; layers +{len(layers.get('added', []))} "
                f"-{len(layers.get('removed', []))}; config changed: "
                f"{diff.get('config_changed')}")
    for rec in impact.get("recommendations") or []:
        c.print(f"  recommendation: {escape(rec)}")

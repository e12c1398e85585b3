"""Tables for ``floe audit``; untrusted strings are escaped before markup."""

from __future__ import annotations

from typing import Any

from floe_ledger.adapters.audit.verify import VerifyOutcome
from floe_ledger.cli.output import Output
from floe_ledger.cli.render.cells import short_digest, utc_time


def render_verify(out: Output, outcome: VerifyOutcome) -> None:
    """Heads, then breaks and drift (the error line itself is printed by handle_errors)."""
    from floe_ledger.cli.render.text import escape

    c = out.console
    report = outcome.report
    verdict = "[green]verified[/green]" if outcome.ok else "[bold red]NOT VERIFIED[/bold red]"
    c.print(f"ledger {verdict}: {len(report.streams)} stream(s), {report.events} events "
            f"replayed from the first event in {outcome.seconds:.2f} s")
    for s in report.streams.values():
        c.print(f"  {escape(s.repository or s.artifact_id)}  v{s.version}  {s.hash}")
    for b in outcome.breaks:
        kind = f" {b.kind}" if b.kind else ""
        c.print(f"[red]{b.reason}[/red] v{b.version}{escape(kind)} of "
                f"{escape(b.repository or b.artifact_id)}: {escape(b.message)}")
    if outcome.registry:
        c.print(f"registry {escape(outcome.registry)}: {len(outcome.drift)} tag(s) drifted, "
                f"{len(outcome.records)} record(s) checked")
    foreign = sorted({r["ledger_id"] for r in outcome.records if r.get("origin") == "foreign"})
    if foreign:
        mine = sum(1 for r in outcome.records if r.get("origin") == "foreign")
        c.print(f"  {mine} record(s) written by other ledgers ({', '.join(foreign)}): foreign, "
                "not tampering")
    for d in outcome.drift:
        c.print(f"  [red]{d.status:<9}[/red] {escape(d.tag)}: ledger {short_digest(d.expected)}, "
                f"registry {short_digest(d.live)}")
    for bad in outcome.invalid_records:
        c.print(f"  [red]edited[/red]    record {escape(bad['digest'])}: {escape(bad['reason'])}")
    for op in outcome.incomplete:
        if op["kind"] == "rollback":
            c.print(f"  [red]incomplete[/red] rollback {escape(op['rollback_id'])} "
                    f"({escape(op['version'])} in {escape(op['environment'])}): "
                    f"record {escape(op['record'])}, no RolledBack")
        else:
            c.print(f"  [red]incomplete[/red] promotion {escape(op['promotion_id'])} "
                    f"({escape(op['version'])} to {escape(op['target_environment'])}): "
                    f"record {escape(op['record'])}, no PromotionCompleted")
    if outcome.archive is not None:
        a = outcome.archive
        c.print(f"archive {escape(a['source'])}: {a['matched']} of {a['archived_events']} "
                f"archived event(s) match, {len(a['edited'])} edited, "
                f"{len(a['missing_from_ledger'])} missing from the ledger; "
                f"{a['not_yet_archived']} ledger event(s) not yet archived")
    if outcome.checkpoint:
        c.print(f"checkpoint of {escape(str(outcome.checkpoint.get('created_at')))}: "
                f"{outcome.checkpoint.get('streams')} head(s) checked")
    for warning in outcome.warnings:
        out.warn(warning)


def render_replay(out: Output, payload: dict[str, Any]) -> None:
    from rich.table import Table

    from floe_ledger.cli.render.text import escape

    c = out.console
    c.print(f"state as of {payload['as_of']} ({payload['events']} events)")
    if not payload["artifacts"]:
        c.print("  nothing had been recorded yet")
    for art in payload["artifacts"]:
        table = Table(title=escape(art["repository"] or art["artifact_id"]), title_justify="left")
        for col in ("Environment", "Version", "Digest", "By", "At", "Via", "Lock"):
            table.add_column(col)
        for e in art["environments"]:
            lock = f"LOCKED: {e['lock_reason']}" if e.get("locked") else ""
            table.add_row(escape(e["environment"]), escape(e.get("version") or "-"),
                          short_digest(e.get("digest")), escape(e.get("promoted_by") or "-"),
                          utc_time(e.get("promoted_at"), suffix=""), escape(e.get("via") or "-"),
                          escape(lock))
        c.print(table)


def render_history(out: Output, entries: list[dict[str, Any]]) -> None:
    """One line per event, newest first: time, kind, environment, version, operator, how the
    operator was identified (oidc, registry, local; ``-`` before it was recorded), summary
    (``-o json`` adds digests, ids and trace ids)."""
    from floe_ledger.cli.render.text import escape

    c = out.console
    c.print(f"history: {len(entries)} event(s), newest first")
    for e in entries:
        at = utc_time(e["at"], suffix="")
        known = e.get("identified_by") or "-"  # how the operator was identified (FR-045)
        c.print(escape(f"{at}  {e['kind']:<19} {e['environment'] or '-':<8} "
                       f"{e['version'] or '-':<9} {e['operator']:<10} {known:<8} "
                       f"{e['summary']}"))


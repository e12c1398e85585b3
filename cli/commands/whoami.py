"""``floe whoami``: who floe takes you for, and how it knows."""

from __future__ import annotations

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output


@click.command()
@floe_command()
def whoami(app: App, out: Output) -> None:
    """Who floe takes you for, and how it knows (OIDC token, registry login, local user)."""
    op = app.operator
    if out.structured:
        out.result({"operator": op.as_dict()})
        return
    from floe_ledger.cli.render.text import escape

    state = "authenticated" if op.authenticated else "NOT authenticated"
    out.console.print(f"{escape(op.name)} ({state}, from {op.source})")
    out.console.print(f"  groups: {escape(', '.join(op.groups) or '-')}")

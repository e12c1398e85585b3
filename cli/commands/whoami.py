"""``floe whoami``: who floe takes you for, and how it knows."""

from __future__ import annotations

import click

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.options import manifest_option
from floe_ledger.cli.output import Output, handle_errors, output_option


@click.command()
@manifest_option
@output_option
@handle_errors
def whoami(manifest: str | None, output: str, out: Output) -> None:
    """Who floe takes you for, and how it knows (OIDC token, registry login, local user)."""
    app = App(Settings.from_options(manifest))
    try:
        op = app.operator
        if out.structured:
            out.result({"operator": op.as_dict()})
            return
        from rich.markup import escape

        state = "authenticated" if op.authenticated else "NOT authenticated"
        out.console.print(f"{escape(op.name)} ({state}, from {op.source})")
        out.console.print(f"  groups: {escape(', '.join(op.groups) or '-')}")
    finally:
        app.close()

"""``floe ledger``: create the schema, rebuild projections."""

from __future__ import annotations

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output


@click.group()
def ledger() -> None:
    """Manage the ledger database."""


@click.command()
@floe_command()
def init(app: App, out: Output) -> None:
    """Create the ledger's tables once (run before parallel CI runners share PostgreSQL)."""
    from floe_ledger.adapters.store.factory import init_store

    init_store(app.ledger_location, app.settings.env)
    if out.structured:
        out.result({"ledger": app.ledger_location.display})
    else:
        out.console.print(f"ledger ready: {app.ledger_location.display}")


@click.command()
@floe_command()
def rebuild(app: App, out: Output) -> None:
    """Drop the read models and fold them again from the first event."""
    import time

    start = time.perf_counter()
    count = app.store.rebuild_views()
    seconds = time.perf_counter() - start
    total = app.store.max_position()
    if out.structured:
        out.result({"events": count, "ledger_events": total, "seconds": round(seconds, 3)})
    else:
        out.console.print(f"rebuilt views over {total} ledger events ({count} folded, the "
                          f"rest change no view) in {seconds:.2f} s")


for _command in (init, rebuild):
    ledger.add_command(_command)

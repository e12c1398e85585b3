"""``floe ledger``: create the schema, rebuild projections, adopt tags floe did not write."""

from __future__ import annotations

import click

from floe_ledger.cli.after_command import after_command
from floe_ledger.cli.app import App
from floe_ledger.cli.complete import environments
from floe_ledger.cli.options import floe_command, require_reason
from floe_ledger.cli.output import Output
from floe_ledger.cli.progress import progress


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
    total = app.store.max_position()
    with progress(out, "folding events into the views", total) as bar:
        count = app.store.rebuild_views(on_progress=bar.update)
    seconds = time.perf_counter() - start
    if out.structured:
        out.result({"events": count, "ledger_events": total, "seconds": round(seconds, 3)})
    else:
        out.console.print(f"rebuilt views over {total} ledger events ({count} folded, the "
                          f"rest change no view) in {seconds:.2f} s")


@click.command()
@click.argument("version")
@click.option("--env", "environment", required=True, metavar="ENV", shell_complete=environments,
              help="The environment whose tag to adopt.")
@click.option("--reason", default=None, help="Why (recorded; prompted for on a terminal).")
@floe_command(traced=True)
def adopt(app: App, out: Output, version: str, environment: str, reason: str | None) -> None:
    """Adopt {VERSION}-{ENV}, a tag floe did not write, as evidence VERSION passed ENV.

    A tag pushed by hand or by another tool is not evidence that the version's gates,
    signature check and authorization ran, so promoting from it is refused (exit 9). An
    operator allowed into ENV may adopt it deliberately: the adoption is recorded in the
    ledger, with its operator and reason, and in the registry for every other ledger.

    \b
    Examples:
      floe ledger adopt v9.0.0 --env staging --reason "promoted by the old pipeline"
      floe ledger adopt v9.0.0 --env staging --reason "migrated" -o json
    """
    from floe_ledger.domain.services.requests import AdoptRequest

    try:
        text = require_reason(reason, "adoption")
        result = app.adoption_service().adopt(AdoptRequest(version, environment, text),
                                              app.actor())
        for warning in result.warnings:
            out.warn(warning)
        payload = {"adoption_id": result.adoption_id, "version": result.version,
                   "environment": result.environment, "tag": result.tag,
                   "artifact_digest": result.digest, "reason": result.reason,
                   "record_digest": result.record_digest, "operator": app.operator.name}
        if out.structured:
            out.result(payload)
        else:
            out.console.print(f"Adopted {result.tag} ({result.digest}) as evidence "
                              f"{result.version} passed {result.environment}")
    finally:
        after_command(app, out)


for _command in (init, rebuild, adopt):
    ledger.add_command(_command)

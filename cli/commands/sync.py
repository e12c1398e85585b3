"""``floe platform sync``: bring the replicas level with the ledger (FR-029, US6)."""

from __future__ import annotations

import click

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.commands.platform import platform
from floe_ledger.cli.options import manifest_option
from floe_ledger.cli.output import Output, handle_errors, output_option
from floe_ledger.domain.errors import ExitCode, UsageError


@platform.command()
@click.option("--check", is_flag=True,
              help="Only report what is behind; write nothing (exit 14 if a replica is behind).")
@manifest_option
@output_option
@handle_errors
def sync(check: bool, manifest: str | None, output: str, out: Output) -> None:
    """Copy to every replica the tags, artifacts, signatures and records it lacks.

    The ledger says which tags the primary holds (promotions, rollback tags,
    latest-ENV); each replica's tags are read from its own headers and re-pointed or
    written where they differ. Exit 5 if a replica could not be brought level.

    \b
    Examples:
      floe platform sync
      floe platform sync --check -o json
    """
    from floe_ledger.adapters.replication_sync import sync as sync_replicas
    from floe_ledger.adapters.replication_sync import sync_status
    from floe_ledger.domain.replicas import expected_tags

    app = App(Settings.from_options(manifest))
    out.trace_id = app.trace_id
    try:
        replicas = app.replicas.replicas
        if not replicas:
            raise UsageError("no replicas are configured",
                             hint="add artifacts.replicas: [{uri: ...}] to manifest.yaml")
        artifact = app.store.load(app.repository)
        expected = expected_tags(artifact, app.registry.uri) if artifact else {}
        if check:
            drifts = sync_status(app.registry, replicas, expected)
            rows = [d.as_dict() for d in drifts]
            code = 0 if all(d.level for d in drifts) else int(ExitCode.INTEGRITY)
        else:
            statuses = sync_replicas(app.registry, replicas, expected)
            rows = [s.as_dict() for s in statuses]
            code = 0 if all(s.ok for s in statuses) else int(ExitCode.REGISTRY_UNAVAILABLE)
        if out.structured:
            out.result({"expected_tags": len(expected), "replicas": rows}, success=code == 0)
        else:
            from rich.markup import escape

            for row in rows:
                state = row.get("status") or ("level" if row.get("level") else "behind")
                why = f" ({row['error']})" if row.get("error") else ""
                out.console.print(escape(f"{row['uri']}: {state}{why}"))
        if code:
            raise SystemExit(code)
    finally:
        app.close()

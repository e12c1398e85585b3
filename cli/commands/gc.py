"""``floe gc``: delete environment tags of versions that ran too long ago (retention)."""

from __future__ import annotations

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output
from floe_ledger.cli.render.gc import gc_payload, render_gc


@click.command()
@click.option("--keep", type=click.IntRange(min=1), required=True, metavar="N",
              help="Versions to keep per environment: the N that ran there most recently "
              "(the running one and the one before it always stay).")
@click.option("--env", "environments", multiple=True, metavar="ENV",
              help="Only this environment (repeatable); default: every environment.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
@floe_command(traced=True)
def gc(app: App, out: Output, keep: int, environments: tuple[str, ...], dry_run: bool) -> None:
    """Delete the environment tags (VERSION-ENV, VERSION-ENV-rollback-N) of versions older
    than the N that ran most recently in each environment.

    Never deleted: latest-ENV and release tags; the version running in an environment and
    the one a rollback goes back to; every tag of a locked environment or of one you may not
    change; tags no floe record explains; the last tags naming a digest. Deletions are
    recorded in the ledger (TagsCollected) and by a collection record beside each version,
    so 'floe audit verify --registry' does not report them as drift. Only the primary
    registry is changed. A registry that cannot delete a tag without deleting its manifest
    (docker-registry 2.x) stops gc before anything is deleted (exit 2).

    \b
    Examples:
      floe gc --keep 5 --dry-run
      floe gc --keep 5
      floe gc --keep 3 --env dev --env staging -o json
    """
    from floe_ledger.domain.services.requests import GcRequest

    request = GcRequest(keep, tuple(environments), dry_run=dry_run)
    result = app.gc_service().collect(request, app.actor())
    if out.structured:
        out.result(gc_payload(result, app.operator.name))
    else:
        render_gc(out, result)

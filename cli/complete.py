"""What <TAB> offers for environments and versions (``floe completion``).

    @click.option("--to", shell_complete=environments)
    @click.argument("version", shell_complete=versions)

Environment names come from manifest.yaml (the ``--manifest`` already typed, else
``FLOE_MANIFEST``, else ./manifest.yaml); versions from the ledger's history view: those
that went into the environment the command line already names (``--from`` for promote,
``--env`` for rollback), else every version the ledger knows, newest first. Both are
cheap reads of what is on disk: the registry is never asked, nothing is written, and any
error completes nothing rather than printing a traceback into the shell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

from floe_ledger.cli.app import Settings

if TYPE_CHECKING:
    from floe_ledger.adapters.manifest.peek import ManifestOutline


def environments(ctx: click.Context, param: click.Parameter,
                 incomplete: str) -> list[CompletionItem]:
    """Environment names in path order."""
    try:
        outline = _outline(_settings(ctx))
        names = outline.environments if outline is not None else ()
        return [CompletionItem(n) for n in names if n.startswith(incomplete)]
    except Exception:  # completion never fails
        return []


def versions(ctx: click.Context, param: click.Parameter,
             incomplete: str) -> list[CompletionItem]:
    """Versions the ledger recorded in the environment already on the command line."""
    try:
        return [CompletionItem(v) for v in _versions(ctx) if v.startswith(incomplete)]
    except Exception:  # completion never fails: no ledger, no server, a broken manifest
        return []


def _versions(ctx: click.Context) -> list[str]:
    from floe_ledger.adapters.store.inspect import recorded_versions
    from floe_ledger.adapters.store.location import ledger_location
    from floe_ledger.domain.model.artifact_id import artifact_id

    settings = _settings(ctx)
    outline = _outline(settings)
    if outline is None or outline.repository is None:
        return []
    environment = ctx.params.get("source") or ctx.params.get("environment")
    location = ledger_location(settings.env.get("FLOE_LEDGER_URL"), settings.base_dir)
    return recorded_versions(location, settings.env, str(artifact_id(outline.repository)),
                             environment if isinstance(environment, str) else None)


def _settings(ctx: click.Context) -> Settings:
    """The manifest the command line names so far (``--manifest`` is parsed before <TAB>)."""
    manifest = ctx.params.get("manifest")
    return Settings.from_options(manifest if isinstance(manifest, str) else None)


def _outline(settings: Settings) -> ManifestOutline | None:
    from floe_ledger.adapters.manifest.peek import peek_manifest

    return peek_manifest(settings.manifest_path)

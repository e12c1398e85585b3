"""``floe doctor``: check the set-up and say what to fix, one line per check.

The checks are in :mod:`floe_ledger.cli.diagnostics`; they read and never write to the
ledger or the registry.
"""

from __future__ import annotations

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.diagnostics import (
    Check,
    check_gate_commands,
    check_ledger,
    check_manifest,
    check_registry,
    check_replicas,
    check_trust_root,
    guard,
)
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output
from floe_ledger.domain.model.errors import FloeError

NEEDS_MANIFEST = "skipped: needs a manifest.yaml that loads (see the manifest line)"


@click.command()
@floe_command()
def doctor(app: App, out: Output) -> None:
    """Check manifest.yaml, the registry, the ledger, the trust root and the gate commands,
    and say what to fix.

    One line per check: ok, warn (works, but read the hint) or fail (what to fix). Exit 0
    when nothing failed; otherwise the exit code of the first failure, as the command that
    meets it would exit (2 a manifest or ledger setting, 5 registry unreachable, 12
    credentials refused, 8 a gate command missing, 14 a damaged ledger file). Writes nothing.

    \b
    Examples:
      floe doctor
      floe doctor --manifest deploy/manifest.yaml
      FLOE_LEDGER_URL=postgresql://floe@db/floe floe doctor -o json
    """
    from floe_ledger.cli.render.doctor import render_checks

    out.trace_id = app.trace_id
    checks = run_checks(app)
    failed = next((c for c in checks if c.error is not None), None)
    rows = [c.as_dict() for c in checks]
    if out.structured:
        counts = {s: sum(c.status == s for c in checks) for s in ("ok", "warn", "fail", "skip")}
        out.document({"success": failed is None, "trace_id": out.trace_id,
                      "error": failed.error.as_dict() if failed and failed.error else None,
                      "checks": rows, "summary": counts})
    else:
        render_checks(out, rows)
    if failed is not None and failed.error is not None:
        raise SystemExit(int(failed.error.exit_code))


def run_checks(app: App) -> list[Check]:
    """Every check in order; the ones that need the manifest are skipped when it does not load."""
    manifest = guard("manifest", lambda: check_manifest(app))
    loaded = _loads(app)
    checks = [manifest]
    checks.append(guard("registry", lambda: check_registry(app)) if loaded
                  else Check("registry", "skip", NEEDS_MANIFEST))
    if loaded and app.manifest.artifacts.replicas:
        checks.extend(check_replicas(app))
    checks.append(guard("ledger", lambda: check_ledger(app)))
    checks.append(guard("trust root", lambda: check_trust_root(app)) if loaded
                  else Check("trust root", "skip", NEEDS_MANIFEST))
    checks.append(guard("gate commands", lambda: check_gate_commands(app))
                  if manifest.status != "fail" else Check("gate commands", "skip", NEEDS_MANIFEST))
    return checks


def _loads(app: App) -> bool:
    try:
        app.manifest  # noqa: B018 - cached on the App once it loads
    except FloeError:
        return False
    return True

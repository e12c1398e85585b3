"""Start-up: a command imports what it uses, nothing more (issue 15 item 2, design-notes
"Performance budgets").

floe's main is run in a fresh interpreter the way the `floe` script runs it, on a real
registry and ledger, and what it imported is read from ``sys.modules`` when it ends. No
timing is asserted: the import set is what decides start-up time, and it is deterministic.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.workspace import Workspace

PROBE = """\
import json, sys
from floe_ledger.cli import main
try:
    main()
except SystemExit as exit_:
    code = exit_.code
else:
    code = 0
loaded = sorted(name for name, module in sys.modules.items() if module is not None)
sys.stderr.write("\\n" + json.dumps({"code": code, "modules": loaded}) + "\\n")
"""

#: Never needed by `promote -o json` or `status -o json` with this set-up (no signature
#: policy, no gate commands, no OTEL_* variables, no webhooks, a key-less registry).
NEVER = (
    "rich",                # tables and progress only; -o json prints none
    "pygments",            # rich's syntax highlighting, pulled in by httpx's own CLI
    "httpx._main",         # httpx's command line, imported by httpx/__init__ when it can
    "structlog",           # configured on the first log line written; none is
    "opentelemetry",       # only when OTEL_* asks for traces to be exported
    "sigstore",            # keyless verification only
    "jwt",                 # OIDC identity only
    "sqlite_utils",        # `floe audit export -f sqlite` only
    "trio",                # httpcore's optional async backend (installed here by selenium)
    "floe_ledger.cli.diagnostics",          # floe doctor
    "floe_ledger.cli.commands.audit",       # other commands are imported when run
    "floe_ledger.cli.commands.artifact",
    "floe_ledger.cli.commands.doctor",
    "floe_ledger.cli.commands.schema",
    "floe_ledger.cli.commands.gc",
    "floe_ledger.domain.model.signature",   # signature policy models: no policy here
)


def imported(ws: Workspace, *args: str) -> tuple[int, set[str], str]:
    """(exit code, modules imported, stdout) of ``floe ARGS`` run in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ws.root, env=ws.env,
                          capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), proc.stdout


def loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


def assert_never(modules: set[str], *more: str) -> None:
    found = {name: loaded(modules, name) for name in (*NEVER, *more)}
    assert not {name: mods for name, mods in found.items() if mods}


@pytest.mark.requirement("CLI-05", "SC-008")
def test_promote_and_status_in_json_import_only_what_they_use(workspace: Workspace) -> None:
    ws = workspace
    # psycopg loads libpq through ctypes; the gate runner's subreaper needs it only when a
    # gate command runs (none is configured here)
    sqlite_only = () if ws.postgres else ("psycopg", "psycopg_pool", "ctypes")
    ws.push("v1.0.0")
    code, modules, out = imported(ws, "platform", "promote", "v1.0.0", "--to", "dev",
                                  "-o", "json")
    assert code == 0, out
    assert json.loads(out)["success"] is True
    # What a promotion does need is there: the registry client, the ledger, the gates.
    assert {"httpx", "eventsourcing", "floe_ledger.adapters.gates.service"} <= modules
    assert_never(modules, *sqlite_only)

    code, modules, out = imported(ws, "platform", "status", "-o", "json")
    assert code == 0, out
    assert json.loads(out)["environments"][0]["version"] == "v1.0.0"
    assert_never(modules, *sqlite_only, "floe_ledger.adapters.gates", "cel",
                 "floe_ledger.domain.services.promote")


@pytest.mark.requirement("CLI-06")
def test_a_table_still_imports_rich(sqlite_workspace: Workspace) -> None:
    """The other side: the human output is rich's, so the probe sees what is imported."""
    code, modules, out = imported(sqlite_workspace, "platform", "status")
    assert code == 0, out
    assert "rich.table" in modules
    assert "dev" in out

"""``floe``'s commands are imported when the command line reaches them, and the tree the
rest of the CLI (help, completion, suggestions, the tests' command walk) sees is the same."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from floe_ledger.cli.commands.audit import audit
from floe_ledger.cli.lazy import LazyCommands
from floe_ledger.cli.main import cli

EXPECTED = {"artifact", "audit", "completion", "doctor", "gc", "init", "ledger", "metrics",
            "platform", "schema", "serve", "webhooks", "whoami"}


@pytest.mark.requirement("CLI-01")
def test_starting_floe_imports_no_command_until_one_is_named() -> None:
    code = ("import json, sys\n"
            "from floe_ledger.cli.main import cli\n"
            "def loaded():\n"
            "    prefix = 'floe_ledger.cli.commands.'\n"
            "    return sorted(m for m in sys.modules if m.startswith(prefix))\n"
            "seen = [loaded()]\n"
            "names = sorted(cli.commands)\n"
            "assert 'platform' in cli.commands\n"
            "seen.append(loaded())\n"
            "cli.commands['gc']\n"
            "seen.append(loaded())\n"
            "print(json.dumps([names, seen]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    names, (at_start, after_listing, after_lookup) = json.loads(out)
    assert set(names) == EXPECTED
    assert at_start == after_listing == []  # listing and matching names import nothing
    assert after_lookup == ["floe_ledger.cli.commands.gc"]


@pytest.mark.requirement("CLI-01")
def test_the_command_tree_is_the_same_objects_an_import_gives() -> None:
    assert set(cli.commands) == EXPECTED
    assert cli.commands["audit"] is audit
    assert all(isinstance(c, click.Command) for c in cli.commands.values())
    assert len(cli.commands) == len(EXPECTED)


@pytest.mark.requirement("CLI-01")
def test_help_and_suggestions_name_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:\n", 1)[1].split()
    assert set(listed) >= EXPECTED
    result = CliRunner().invoke(cli, ["platfrm"])
    assert result.exit_code == 2
    assert "Did you mean 'platform'?" in result.output


def test_the_mapping_behaves_like_a_dict() -> None:
    commands = LazyCommands({"status": "floe_ledger.cli.commands.platform:status"})
    assert "status" in commands and "nope" not in commands
    extra = click.Command("extra")
    commands["extra"] = extra
    assert list(commands) == ["status", "extra"] and len(commands) == 2
    assert commands["status"].name == "status"
    del commands["status"]
    assert list(commands) == ["extra"] and commands.get("status") is None
    with pytest.raises(KeyError):
        del commands["status"]
    bad = LazyCommands({"x": "floe_ledger.cli.main:CONTEXT"})
    with pytest.raises(TypeError):
        bad["x"]

"""Long work shows a progress bar on a terminal, and nothing elsewhere (issue 14 item 7).

`floe platform sync`, `floe audit export`, `floe audit verify` and `floe ledger rebuild` run
under a pseudo-terminal (stdout and stderr both on it, as in a person's shell): a rich bar
with its description and step count appears. With ``-o json``, or with the streams piped
(CI logs), not a byte of it does.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import time
from pathlib import Path

import pytest

from support.registry_server import RegistryServer
from support.workspace import FLOE, Workspace, make_workspace

BAR = "━"  # rich's bar glyph
#: (command, the bar's description)
WORK = [
    (("platform", "sync"), "syncing replicas"),
    (("audit", "export", "-f", "jsonl", "-O", "{tmp}/export.jsonl", "--force"),
     "exporting events"),
    (("audit", "verify"), "verifying events"),
    (("ledger", "rebuild"), "folding events into the views"),
]
STEPS = re.compile(r"\b(\d+)/(\d+)\b")


def on_terminal(ws: Workspace, *args: str, timeout: float = 60) -> tuple[int, str]:
    """Run floe with stdout and stderr on a pseudo-terminal; (exit code, what it showed)."""
    main, child = pty.openpty()
    env = {**ws.env, "TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen([FLOE, *args], cwd=ws.root, env=env, stdin=subprocess.DEVNULL,
                            stdout=child, stderr=child)
    os.close(child)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    return proc.wait(timeout=timeout), shown.decode(errors="replace")


@pytest.fixture
def busy(tmp_path: Path, registry_server: RegistryServer, repo_name: str) -> Workspace:
    """A ledger with a few promotions and a replica that lacks them."""
    ws = make_workspace(tmp_path, registry_server, repo_name)
    for version in ("v1.0.0", "v1.1.0"):
        ws.push(version, content=version)
        assert ws.run("platform", "promote", version, "--to", "dev").returncode == 0
    ws.write_manifest(replicas=[{"uri": registry_server.uri(f"{repo_name}-mirror"),
                                 "plain_http": True}])
    return ws


def _args(args: tuple[str, ...], ws: Workspace) -> list[str]:
    return [a.format(tmp=ws.root) for a in args]


@pytest.mark.requirement("JSON-05", "FR-029", "SC-003")
def test_long_work_shows_a_bar_on_a_terminal_and_nothing_elsewhere(busy: Workspace) -> None:
    for args, description in WORK:
        code, shown = on_terminal(busy, *_args(args, busy))
        assert code == 0, (args, shown)
        assert description in shown and BAR in shown, (args, shown)
        done = [(int(a), int(b)) for a, b in STEPS.findall(shown)]
        assert done and done[-1][0] == done[-1][1] > 0, (args, done)  # ends complete

        piped = busy.run(*_args(args, busy))
        assert piped.returncode == 0, piped.stderr
        assert description not in piped.stdout + piped.stderr and BAR not in piped.stderr

        code, as_json = on_terminal(busy, *_args(args, busy), "-o", "json")
        assert code == 0, as_json
        assert description not in as_json and BAR not in as_json
        doc = json.loads(as_json[as_json.index("{"):])
        assert doc["success"] is True

"""Run `floe` as a subprocess, remember every run, and know which commands were run.

    floe = FloeRuns(root, env)
    floe.ok("platform", "status")                       # expects exit 0
    floe.expect(12, "whoami", env={"FLOE_OIDC_TOKEN": expired})
    assert not leaf_commands(cli) - floe.commands       # every command was run
    assert not floe.unexpected                          # every run exited as expected

A run that exits otherwise is recorded, not raised at once, so that a test can first show
what the run printed (e.g. a secret in a traceback) and then fail on the exit code.
"""

from __future__ import annotations

import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from support.workspace import FLOE


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[str]:
    """Every runnable command under ``group``, as space-separated paths ("audit verify")."""
    found: set[str] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= leaf_commands(command, (*prefix, name))
        else:
            found.add(" ".join((*prefix, name)))
    return found


def command_of(group: click.Group, args: tuple[str, ...]) -> str:
    """The command path ``args`` invoke ("" if they stop at a group)."""
    path: list[str] = []
    current: click.Command = group
    for arg in args:
        if not isinstance(current, click.Group) or arg not in current.commands:
            break
        current = current.commands[arg]
        path.append(arg)
    return "" if isinstance(current, click.Group) else " ".join(path)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float
    cpu_seconds: float

    @property
    def label(self) -> str:
        return "floe " + " ".join(self.args)


@dataclass
class FloeRuns:
    """Runs ``floe`` in ``root`` with ``env`` (a value of None in an override unsets it)."""

    root: Path
    env: dict[str, str]
    group: click.Group
    runs: list[Run] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)

    def expect(self, code: int, *args: str,
               env: dict[str, str | None] | None = None) -> Run:
        full = {**self.env, **(env or {})}
        started, cpu = time.monotonic(), _children_cpu()
        proc = subprocess.run([FLOE, *args], cwd=self.root, capture_output=True, text=True,
                              timeout=90, stdin=subprocess.DEVNULL,
                              env={k: v for k, v in full.items() if v is not None})
        run = Run(tuple(args), proc.returncode, proc.stdout, proc.stderr,
                  time.monotonic() - started, _children_cpu() - cpu)
        self.runs.append(run)
        self.commands.add(command_of(self.group, tuple(args)))
        if run.code != code:
            self.unexpected.append(f"{run.label}: exit {run.code}, expected {code}\n--- stdout "
                                   f"---\n{run.stdout}\n--- stderr ---\n{run.stderr}")
        return run

    def ok(self, *args: str, env: dict[str, str | None] | None = None) -> Run:
        return self.expect(0, *args, env=env)

    def both(self, code: int, *args: str, env: dict[str, str | None] | None = None) -> None:
        """The same failing run as JSON (the error envelope, with details) and as text."""
        self.expect(code, *args, "-o", "json", env=env)
        self.expect(code, *args, env=env)

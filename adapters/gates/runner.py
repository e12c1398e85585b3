"""Run a gate command: argv only (never a shell), in its own process group, with a deadline.

On timeout the whole group gets SIGTERM, then SIGKILL after a grace period
(NFR-003), and the gate fails with "Gate execution timed out after N seconds"
(FR-012c). Output is read by threads into bounded tail buffers, so a chatty
command can neither deadlock nor exhaust memory. The command inherits the
parent environment minus secrets, plus ``FLOE_ARTIFACT_REF`` and friends.

Protocol for gate authors: exit 0 passes, anything else fails. A command that
exits 0 may print, as its last non-empty stdout line, a JSON object
``{"status": "passed|warning|failed", "details": {...}, "message": "..."}`` to
report a warning or a failure with details. A non-zero exit always fails.

Orphaned descendants: on Linux this process makes itself a child subreaper
(``PR_SET_CHILD_SUBREAPER``) the first time it runs a gate, so grandchildren of a
killed gate are re-parented to it and reaped here, even under an init that does
not reap zombies.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SECRET_NAMES = frozenset(
    {"FLOE_REGISTRY_PASSWORD", "FLOE_REGISTRY_USERNAME", "DOCKER_CONFIG", "FLOE_OIDC_TOKEN"})
SECRET_MARKERS = ("PASSWORD", "PASSWD", "TOKEN", "SECRET", "CREDENTIAL", "API_KEY", "PRIVATE_KEY")
OUTPUT_LIMIT = 8192
_PR_SET_CHILD_SUBREAPER = 36


def timeout_message(timeout_seconds: float) -> str:
    """The exact FR-012c message."""
    return f"Gate execution timed out after {timeout_seconds:g} seconds"


def substitute(argv: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Replace ``${NAME}`` in each argument separately; values never split an argument."""
    out = []
    for arg in argv:
        for name, value in values.items():
            arg = arg.replace(f"${{{name}}}", value)
        out.append(arg)
    return out


def is_secret(name: str) -> bool:
    """Whether an environment variable must not reach a gate command."""
    upper = name.upper()
    return upper in SECRET_NAMES or any(marker in upper for marker in SECRET_MARKERS)


def gate_env(parent: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """The parent environment without secrets, plus ``FLOE_<PLACEHOLDER>`` for each value."""
    env = {k: v for k, v in parent.items() if not is_secret(k)}
    env.update({f"FLOE_{name}": value for name, value in values.items()})
    return env


class _Tail:
    """Drains a pipe on a thread, keeping only the last ``limit`` bytes."""

    def __init__(self, pipe: Any, limit: int) -> None:
        self._fd: int = pipe.fileno()
        self._pipe = pipe
        self._limit = limit
        self.data = bytearray()
        self.total = 0
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError), self._pipe:
            while chunk := os.read(self._fd, 65536):
                self.total += len(chunk)
                self.data += chunk
                if len(self.data) > 2 * self._limit:
                    del self.data[: -self._limit]

    def bytes(self) -> bytes:
        return bytes(self.data[-self._limit:]) if self._limit else b""


@dataclass(frozen=True)
class CommandOutcome:
    """What happened: exit code (None if it never started or was killed), output tails."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    stdout_total: int = 0
    stderr_total: int = 0
    timed_out: bool = False
    launch_error: str | None = None

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


@functools.cache
def _become_subreaper() -> bool:
    """Adopt orphaned descendants so they can be reaped (Linux; best effort)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _reap_group(pgid: int) -> None:
    """Collect exited members of the group that were re-parented to us."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-pgid, os.WNOHANG)[0] != 0:
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group_gone(proc: subprocess.Popen[bytes], pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        proc.poll()
        if proc.returncode is not None:
            _reap_group(pgid)
        if not _group_alive(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def end_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM every process of the group, SIGKILL what is left after ``grace`` seconds."""
    pgid = proc.pid
    if _wait_group_gone(proc, pgid, 0):
        return
    _signal_group(pgid, signal.SIGTERM)
    if _wait_group_gone(proc, pgid, grace):
        return
    _signal_group(pgid, signal.SIGKILL)
    proc.wait()
    _wait_group_gone(proc, pgid, 2.0)


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    grace: float = 5.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdout_limit: int = OUTPUT_LIMIT,
    stderr_limit: int = OUTPUT_LIMIT,
) -> CommandOutcome:
    """Run ``argv`` with a deadline. Never raises for the command's own failures.

    Args:
        argv: program and arguments, placeholders already substituted.
        timeout: seconds before the process group is terminated.
        grace: seconds between SIGTERM and SIGKILL.
        env: the complete child environment (see :func:`gate_env`).
        stdout_limit / stderr_limit: how many trailing bytes of each stream to keep.
    """
    args = tuple(argv)
    _become_subreaper()
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True,
        )
    except FileNotFoundError as exc:
        if cwd is not None and exc.filename == cwd:
            return CommandOutcome(args, None, b"", b"", launch_error=(
                f"gate working directory does not exist: {cwd}"))
        return CommandOutcome(args, None, b"", b"", launch_error=(
            f"gate command not found: {args[0]!r} (is it installed and on PATH?)"))
    except OSError as exc:
        return CommandOutcome(args, None, b"", b"", launch_error=(
            f"gate command {args[0]!r} could not start: {exc.strerror or exc}"))
    out, err = _Tail(proc.stdout, stdout_limit), _Tail(proc.stderr, stderr_limit)
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    end_group(proc, grace)
    for tail in (out, err):
        tail.thread.join(timeout=max(grace, 1.0))
    return CommandOutcome(
        args, None if timed_out else proc.returncode, out.bytes(), err.bytes(),
        out.total, err.total, timed_out,
    )

"""Run a gate command: argv only (never a shell), in its own process group, with a deadline.

On timeout the whole group gets SIGTERM, then SIGKILL after a grace period
(NFR-003), and the gate fails with "Gate execution timed out after N seconds"
(FR-012c). Output is read by threads into bounded tail buffers, so a chatty
command can neither deadlock nor exhaust memory.

The command's environment is built from an allowlist, never by removing names from
floe's own (§10): ``PATH``, ``HOME``, ``USER``, ``LOGNAME``, ``SHELL``, ``TERM``,
``LANG``, ``LC_*``, ``TZ``, the CI system's non-secret run identifiers
(:data:`CI_VARS`), any ``FLOE_GATE_*`` variable, the names the gate's ``env:`` list
passes, then ``FLOE_ARTIFACT_REF`` and friends and ``TMPDIR`` (a fresh directory per
gate, outside the ledger's ``.floe/``). Nothing else reaches a gate: not
``FLOE_LEDGER_URL``, ``DATABASE_URL``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``SSH_AUTH_SOCK``
or any registry credential, unless the manifest names it.

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
import functools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BASE_VARS = frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "TZ"})
CI_VARS = frozenset({
    "CI", "GITHUB_ACTIONS", "GITHUB_SHA", "GITHUB_REF", "GITHUB_REF_NAME", "GITHUB_RUN_ID",
    "GITHUB_RUN_NUMBER", "GITHUB_REPOSITORY", "GITHUB_WORKSPACE", "GITLAB_CI",
    "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_PIPELINE_ID", "CI_JOB_ID", "CI_PROJECT_PATH",
    "BUILD_NUMBER", "BUILD_ID", "JOB_NAME"})
"""What CI systems set to identify a run; never a credential (those stay out, §10)."""
GATE_PREFIX = "FLOE_GATE_"
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


def allowed(name: str, passed: Collection[str] = ()) -> bool:
    """Whether the variable ``name`` reaches a gate command (the allowlist, plus ``env:``)."""
    return (name in BASE_VARS or name in CI_VARS or name.startswith(("LC_", GATE_PREFIX))
            or name in passed)


def gate_env(parent: Mapping[str, str], values: Mapping[str, str],
             passed: Collection[str] = (), tmpdir: str | None = None) -> dict[str, str]:
    """The allowed part of ``parent``, ``FLOE_<PLACEHOLDER>`` for each value, and TMPDIR.

    Args:
        parent: floe's environment.
        values: the placeholders (``ARTIFACT_REF`` ...), exported as ``FLOE_<NAME>``.
        passed: the gate's ``env:`` list: names passed as they are.
        tmpdir: the gate's own temporary directory, exported as TMPDIR (TMP, TEMP).
    """
    env = {k: v for k, v in parent.items() if allowed(k, passed)}
    env.update({f"FLOE_{name}": value for name, value in values.items()})
    if tmpdir is not None:
        env.update({"TMPDIR": tmpdir, "TMP": tmpdir, "TEMP": tmpdir})
    return env


@contextlib.contextmanager
def gate_tmpdir() -> Iterator[str]:
    """A fresh 0700 temporary directory for one gate run, removed afterwards.

    It is made under the system temporary directory (``TMPDIR`` of floe itself, else
    /tmp), never under the ledger's ``.floe/``.
    """
    with tempfile.TemporaryDirectory(prefix="floe-gate-") as path:
        yield path


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
    import ctypes  # ~10 ms: only a process that runs a gate command pays for it

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

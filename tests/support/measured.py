"""Run a command as a child process and measure it: exit code, output, wall time and the
child's own peak resident memory.

The command is started by a small launcher process (a fresh ``python -c``): a child forked
straight from the test process would report the test process's memory as its own peak
(Linux carries ``ru_maxrss`` across fork and exec), so the launcher forks it instead and
reports ``RUSAGE_CHILDREN``, which then covers exactly the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TRACEBACK = "Traceback (most recent call last)"
_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass(frozen=True)
class Measured:
    """What a measured run did."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mib: float
    timed_out: bool

    @property
    def tracebacks(self) -> int:
        return (self.stdout + self.stderr).count(TRACEBACK)

    @property
    def output(self) -> str:
        return (f"exit {self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n"
                f"{self.stderr}")


def run_measured(args: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                 timeout: float = 60) -> Measured:
    """Run ``args``; kill it after ``timeout`` seconds (``timed_out`` is then true)."""
    with tempfile.TemporaryDirectory(prefix="floe-measured-") as tmp:
        rss = Path(tmp) / "rss"
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        started = time.monotonic()
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(rss), *args],
                                    cwd=cwd, env=dict(env), stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code, timed_out = proc.wait(), True
        seconds = time.monotonic() - started
        peak = int(rss.read_text()) / 1024 if rss.exists() else float("nan")
        return Measured(code, out_path.read_text(errors="replace"),
                        err_path.read_text(errors="replace"), seconds, peak, timed_out)

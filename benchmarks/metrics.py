"""``floe metrics`` over a big ledger (issue 16 item 2): a whole process, wall and cpu time.

    .venv/bin/python benchmarks/metrics.py                 # 100,000 events
    .venv/bin/python benchmarks/metrics.py --events 1000000

The ledger is ``ledger_fill.py``'s (real events: three promotions a version, dev -> staging
-> prod), read through ``--ledger`` with a window wide enough to hold every event. Peers in
the same run, on the same file: ``floe audit replay --as-of now`` (the same reading path, but
it decodes and folds every event, where metrics decodes only completions and rollbacks), and
the floor: a stdlib ``sqlite3`` read of every row. Median of ``--runs`` processes each.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import load_line, record
from ledger_fill import cached_ledger

FLOE = str(Path(sys.executable).parent / "floe")


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, user+system cpu seconds) of one process that must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def floor(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for _ in conn.execute("SELECT originator_id, originator_version, topic, state "
                              "FROM stored_events ORDER BY rowid"):
            pass


def median_of(runs: int, argv: list[str], cwd: Path) -> tuple[float, float]:
    samples = [timed(argv, cwd) for _ in range(runs)]
    return (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    source, _ = cached_ledger(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ledger = folder / "ledger.sqlite"
        shutil.copyfile(source, ledger)
        metrics = median_of(args.runs, [FLOE, "metrics", "--ledger", str(ledger), "--since",
                                        "3650d", "-o", "json"], folder)
        replay = median_of(args.runs, [FLOE, "audit", "replay", "--as-of", "now", "--ledger",
                                       str(ledger), "-o", "json"], folder)
        start = time.perf_counter()
        floor(ledger)
        raw = time.perf_counter() - start
    n = f"{args.events:,}"
    print(f"floe metrics, {n} events: {metrics[0]:.2f} s wall, {metrics[1]:.2f} s cpu")
    print(f"  peer floe audit replay --as-of now: {replay[0]:.2f} s wall, {replay[1]:.2f} s cpu")
    print(f"  floor (stdlib sqlite3 read of every row): {raw:.2f} s")
    print(f"  {load_line()}")
    record(f"floe metrics, {n} events (SQLite)", round(metrics[0], 3),
           target="<= floe audit replay (same reading path)", peer=round(replay[0], 3),
           unit="s wall")


if __name__ == "__main__":
    main()

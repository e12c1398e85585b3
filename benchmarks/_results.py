"""What every benchmark shares: the machine's load, and its rows in benchmarks/results.json.

    from _results import load_average, record
    print(f"load average: {load_average()}")
    record("whole-process promote / stdlib reference", 3.4, "<= 4x", "stdlib 91 ms", "x")

results.json maps a row name to its last measurement, so the next change can be compared;
a run rewrites only its own rows (merged into the file by name).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, and the CPUs they are shared by."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def record(row: str, now: float | str, target: str, peer: str | None, unit: str) -> None:
    """Merge one row into results.json (``peer``: what it was compared with, same run)."""
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    rows[row] = {"now": now, "target": target, "peer": peer, "unit": unit,
                 "load_average": load_average(),
                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")

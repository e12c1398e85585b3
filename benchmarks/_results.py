"""What every benchmark shares: the machine's load average and ``benchmarks/results.json``.

    from _results import load_average, record
    record("registry requests for one promote", 9, target="<= 12", peer=14, unit="requests")

Rows are merged into the file by name (a run of one benchmark keeps the others' rows), each
with the load average at the time, so the next change can be compared with this one.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (zeros where the platform has none)."""
    try:
        return os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)


def load_line() -> str:
    one, five, fifteen = load_average()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} CPUs)"


def record(row: str, now: float | str, target: str, peer: float | str | None,
           unit: str, path: Path = RESULTS) -> None:
    """Merge one row into ``results.json`` (replacing the row of the same name)."""
    try:
        rows: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        rows = {}
    rows[row] = {"now": now, "target": target, "peer": peer, "unit": unit,
                 "load_average": list(load_average()),
                 "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    path.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")

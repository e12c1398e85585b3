"""The issue 15 table from one `make bench` run: every row, its target, the peer measured in
the same run, and the machine's load average when it was measured.

    python benchmarks/table.py --begin   # before the benchmarks: marks the run's start
    python benchmarks/table.py           # after them: prints the table from results.json

Each benchmark writes its own rows into ``benchmarks/results.json`` (``_results.record``);
this script only reads them. A row measured before the run's start is printed as stale, and
a row no benchmark wrote as "not measured", so a partial run cannot pass for a whole one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import RESULTS, load_line

RUN_KEY = "_run"

#: The issue's table, in its order: (what is measured, row names in results.json).
TABLE: list[tuple[str, list[str]]] = [
    ("whole-process promote / stdlib reference",
     ["whole-process promote / stdlib reference (GET + 2 PUT)"]),
    ("registry requests for one promote",
     ["registry requests for one promote (key-based verify + record)"]),
    ("promote through 50 ms latency / 2 skopeo copy",
     ["promote through 50 ms latency / 2 x skopeo copy"]),
    ("promotions/s, 8 PostgreSQL runners, own repositories",
     ["promotions/s, 8 PostgreSQL runners, own repositories"]),
    ("promotions/s, 8 PostgreSQL runners, one repository",
     ["promotions/s, 8 PostgreSQL runners, one repository",
      "exit 7 seen, 8 PostgreSQL runners, one repository"]),
    ("status whole process, 100k events, PostgreSQL",
     ["status whole process, 100k events, PostgreSQL (ms)"]),
    ("rebuild, ledger events/s, SQLite / PostgreSQL (1M events)",
     ["rebuild events/s @1,000k [sqlite]", "rebuild events/s @1,000k [postgresql]"]),
    ("audit verify, events/s (1M events)",
     ["audit verify events/s @1,000k [sqlite]", "audit verify events/s @1,000k [postgresql]"]),
    ("status whole process, 1M events, SQLite",
     ["status whole process @1,000k [sqlite]"]),
    ("peak RSS at 1M events (rebuild / verify, SQLite)",
     ["rebuild peak RSS @1,000k [sqlite]", "audit verify peak RSS @1,000k [sqlite]"]),
    ("big artifact copy (1 GiB) / skopeo copy",
     ["big artifact copy throughput / skopeo copy (1 GiB)", "big artifact copy peak RSS (MiB)"]),
]


def _rows() -> dict[str, Any]:
    try:
        rows: dict[str, Any] = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        rows = {}
    return rows


def begin() -> None:
    """Mark the start of a run (the rows measured before it are stale)."""
    rows = _rows()
    rows[RUN_KEY] = {"started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "load": load_line()}
    RESULTS.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    print(f"make bench: started, {load_line()}", flush=True)


def _cell(name: str, row: dict[str, Any] | None, started: datetime | None) -> list[str]:
    if row is None:
        return [name, "not measured", "", "", ""]
    stale = started is not None and datetime.strptime(
        row["measured_at"], "%Y-%m-%dT%H:%M:%S%z") < started
    load = " ".join(f"{x:.2f}" for x in row["load_average"])
    now = f"{row['now']} {row['unit']}" + (" (stale: an earlier run)" if stale else "")
    return [name, now, row["target"], str(row["peer"] or "-"), load]


def table() -> int:
    rows = _rows()
    run = rows.get(RUN_KEY)
    started = (datetime.strptime(run["started_at"], "%Y-%m-%dT%H:%M:%S%z") if run else None)
    lines = [["row in results.json", "now", "target", "peer (same run)", "load 1/5/15"]]
    missing = 0
    for heading, names in TABLE:
        lines.append([f"**{heading}**", "", "", "", ""])
        for name in names:
            lines.append(_cell(name, rows.get(name), started))
            missing += name not in rows
    print(f"\nissue 15 table ({RESULTS.name}; run started {run['started_at'] if run else '?'}, "
          f"{run['load'] if run else ''}; now {load_line()})")
    for cells in lines:
        print("| " + " | ".join(cells) + " |")
    if missing:
        print(f"{missing} row(s) not measured: run the whole `make bench`")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--begin", action="store_true", help="mark the start of a run")
    if parser.parse_args().begin:
        begin()
        return 0
    return table()


if __name__ == "__main__":
    sys.exit(main())

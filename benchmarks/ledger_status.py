"""``floe platform status`` as a whole process on PostgreSQL at 100k events (issue 15 item 3),
with its peers measured in the same run: the same command on the same ledger in SQLite, and
``python -c "import psycopg"`` (what any PostgreSQL reader in Python pays before its first
query) beside a bare interpreter. Medians of 11 runs after a rebuild of the views.

    scripts/with-postgres.sh .venv/bin/python benchmarks/ledger_status.py

The ledger is ``ledger_fill.py``'s (real events through the aggregate, cached between runs).
"""

from __future__ import annotations

import os
import statistics
import sys
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import load_line, record
from ledger_fill import cached_ledger
from ledger_scale import FLOE, Ledger, run

ROW = "status whole process, 100k events, PostgreSQL (ms)"
TARGET = "<= 150"
EVENTS = 100_000


def _median_ms(command: list[str], ledger: Ledger, times: int = 11) -> float:
    return statistics.median(run(command, ledger.env, ledger.work)["wall"]
                             for _ in range(times)) * 1000


def status_ms(ledger: Ledger) -> float:
    ledger.floe(FLOE, "ledger", "rebuild")
    ledger.floe(FLOE, "platform", "status")  # warm: page cache, manifest summary
    return _median_ms([FLOE, "platform", "status", "-o", "json"], ledger)


def status_rows(work: Path) -> list[tuple[str, str, str]]:
    source, _ = cached_ledger(EVENTS)
    figures: dict[str, float] = {}
    for kind in ("postgresql", "sqlite"):
        ledger = Ledger(kind, source, EVENTS, work / f"{kind}-{uuid.uuid4().hex[:6]}")
        try:
            figures[kind] = status_ms(ledger)
            if kind == "postgresql":
                figures["psycopg"] = _median_ms([sys.executable, "-c", "import psycopg"], ledger)
                figures["bare"] = _median_ms([sys.executable, "-c", "pass"], ledger)
        finally:
            ledger.close()
    peer = (f"SQLite, same ledger {figures['sqlite']:.0f} ms; python -c 'import psycopg' "
            f"{figures['psycopg']:.0f} ms; bare python {figures['bare']:.0f} ms")
    record(ROW, round(figures["postgresql"]), TARGET, peer, "ms")
    return [(ROW, f"{figures['postgresql']:,.0f} ms", f"target {TARGET} ms; peer {peer}")]


def main() -> None:
    if not os.environ.get("FLOE_TEST_POSTGRES_URL"):
        sys.exit("FLOE_TEST_POSTGRES_URL is not set: run under scripts/with-postgres.sh")
    print(f"before: {load_line()}")
    with TemporaryDirectory(prefix="floe-status.") as tmp:
        for label, figure, note in status_rows(Path(tmp)):
            print(f"{label}  {figure}  {note}")
    print(f"after: {load_line()}")


if __name__ == "__main__":
    main()

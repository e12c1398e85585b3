"""Big ledgers (issue 15 item 4): ``status``, ``audit verify`` and ``ledger rebuild`` at
1,000,000 events, on SQLite and PostgreSQL, each a whole ``floe`` process, with its peak RSS.

    scripts/with-postgres.sh .venv/bin/python benchmarks/ledger_scale.py
    scripts/with-postgres.sh .venv/bin/python benchmarks/ledger_scale.py --events 100000 \\
        --peer-floe /path/to/other/checkout/.venv/bin/floe

The ledger comes from ``ledger_fill.py`` (real events, generated once and cached). Per size
and backend: ``floe ledger rebuild`` (events in the ledger per second of the command's own
timing), ``floe platform status`` (median of 11 whole processes), ``floe audit verify``
(events per second of its own timing: every stream from its first event, every hash, the
snapshots and the views). Peak RSS is the command's ``ru_maxrss`` (for a verify of 100k+
events, the larger of its two processes: the views are checked beside the chain); "cpu" is
its user+system time (both processes), which a loaded machine inflates less than wall time:
the "per cpu-second" rows are the figures to compare between runs on a shared machine. The
size one tenth as big is measured too, so "memory stays flat" can be read off the two RSS
figures.

Peers in the same run: the floor of each command (a stdlib ``sqlite3`` or ``psycopg`` read
of every row, with a sha256 of each row for verify; a bare interpreter that reads the status
rows for status), and ``--peer-floe``'s commands on the same ledger when given (verify only up
to ``--peer-verify-max`` events: before issue 15 it compared the views one query per
artifact, which grows with the square of the ledger).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from floe_ledger.domain.model.artifact_id import artifact_id

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _results import load_line, record
from ledger_fill import STATUS_REPO, cached_ledger, copy_to_postgres

from support.ledger_db import fresh_postgres_url

FLOE = str(Path(sys.executable).with_name("floe"))
TARGETS = {"rebuild sqlite": ">= 100000 events/s", "rebuild postgresql": ">= 50000 events/s",
           "verify": ">= 100000 events/s", "status sqlite": "<= 150 ms", "rss": "flat"}
STATUS_FLOOR = """
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(c.execute("SELECT * FROM floe_env_state WHERE artifact_id = ?", (sys.argv[2],)).fetchall())
"""


# ru_maxrss of a child includes the memory of the process that forked it (Linux keeps the
# high-water mark across exec), so commands are started by this small launcher, whose own
# interpreter (a few MiB, LAUNCHER_FLOOR) is what their figure starts from.
LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, ru = os.wait4(pid, 0)
os.write(2, f"\\n@@rusage {ru.ru_maxrss} {ru.ru_utime + ru.ru_stime}\\n".encode())
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run a whole process; its wall time, cpu time, peak RSS and JSON output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        code = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *cmd], env=env, cwd=cwd,
                              stdout=out, stderr=err, stdin=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    if code != 0:
        raise RuntimeError(f"{cmd} exited {code}: {text[-500:]}{errors[-2000:]}")
    maxrss, cpu = errors.rsplit("@@rusage ", 1)[1].split()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = {}
    return {"wall": wall, "cpu": float(cpu), "rss_mib": int(maxrss) / 1024, "doc": doc}


class Ledger:
    """A ledger copy to measure, on SQLite or PostgreSQL."""

    def __init__(self, kind: str, source: Path, events: int, work: Path) -> None:
        self.kind, self.events, self.work = kind, events, work
        work.mkdir(parents=True, exist_ok=True)
        (work / "manifest.yaml").write_text(
            f"artifacts:\n  registry:\n    uri: {STATUS_REPO}\n")
        self._context = fresh_postgres_url() if kind == "postgresql" else None
        self.url = (self._context.__enter__() if self._context is not None
                    else f"sqlite:///{work / 'ledger.sqlite'}")
        self.env = dict(os.environ, FLOE_LEDGER_URL=self.url,
                        FLOE_MANIFEST=str(work / "manifest.yaml"))
        self.copy_rate: float | None = None
        if kind == "sqlite":
            shutil.copyfile(source, work / "ledger.sqlite")
        else:
            subprocess.run([FLOE, "ledger", "init"], env=self.env, cwd=work, check=True,
                           capture_output=True)
            self.copy_rate = copy_to_postgres(source, self.url)

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)

    def floe(self, binary: str, *args: str) -> dict[str, Any]:
        return run([binary, *args, "-o", "json"], self.env, self.work)


def status_floor(ledger: Ledger) -> float:
    """A bare interpreter reading the status rows (SQLite): the floor of a status process."""
    aid = str(artifact_id(STATUS_REPO))
    samples = []
    for _ in range(11):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-S", "-c", STATUS_FLOOR,
                        str(ledger.work / "ledger.sqlite"), aid], check=True,
                       capture_output=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def scan_floor(ledger: Ledger, digest: bool) -> float:
    """Rows of the event table read (and hashed) per second by the standard library or
    psycopg alone: what any rebuild (any verify) must at least do."""
    start, rows, last = time.perf_counter(), 0, 0
    if ledger.kind == "sqlite":
        conn: Any = sqlite3.connect(f"file:{ledger.work / 'ledger.sqlite'}?mode=ro", uri=True)
        sql = "SELECT rowid, state FROM stored_events WHERE rowid > ? ORDER BY rowid LIMIT ?"
    else:
        conn = psycopg.connect(ledger.url)
        sql = ("SELECT notification_id, state FROM ledger_events WHERE notification_id > %s "
               "ORDER BY notification_id LIMIT %s")
    try:
        while True:
            batch = conn.execute(sql, (last, 5000)).fetchall()
            if not batch:
                break
            if digest:
                for _, state in batch:
                    hashlib.sha256(state).digest()
            rows += len(batch)
            last = batch[-1][0]
    finally:
        conn.close()
    return rows / (time.perf_counter() - start)


def measure(ledger: Ledger, binary: str, verify: bool) -> dict[str, Any]:
    """rebuild, then status (11 runs) and verify, with ``binary``."""
    out: dict[str, Any] = {}
    r = ledger.floe(binary, "ledger", "rebuild")
    out["rebuild"] = {**r, "events_s": r["doc"]["ledger_events"] / r["doc"]["seconds"],
                      "per_cpu": ledger.events / r["cpu"]}
    runs = [ledger.floe(binary, "platform", "status") for _ in range(11)]
    out["status"] = {"ms": statistics.median(x["wall"] for x in runs) * 1000,
                     "cpu_ms": statistics.median(x["cpu"] for x in runs) * 1000,
                     "rss_mib": max(x["rss_mib"] for x in runs)}
    if verify:
        v = ledger.floe(binary, "audit", "verify")
        if not v["doc"].get("verified"):
            raise RuntimeError(f"verify did not verify: {v['doc'].get('error')}")
        out["verify"] = {**v, "events_s": v["doc"]["events"] / v["doc"]["seconds"],
                         "per_cpu": ledger.events / v["cpu"]}
    return out


def report(label: str, kind: str, events: int, m: dict[str, Any],
           peer: dict[str, Any] | None, floors: dict[str, float]) -> list[str]:
    n = f"@{events / 1000:,.0f}k [{kind}]"
    lines = []

    def line(name: str, now: float, unit: str, target: str, peer_text: str | None,
             extra: str = "") -> None:
        lines.append(f"{name + ' ' + n:<44} {now:>12,.0f} {unit:<9} {target:<20} "
                     f"{peer_text or '-':<40} {extra}")
        record(f"{name} {n}", round(now, 1), target, peer_text, unit)

    rb, st = m["rebuild"], m["status"]
    line("rebuild events/s", rb["events_s"], "events/s", TARGETS[f"rebuild {kind}"],
         _peer(peer, "rebuild", "events_s", "events/s", floors.get("scan")),
         f"cpu {rb['cpu']:.1f} s wall {rb['wall']:.1f} s")
    line("rebuild events per cpu-second", events / rb["cpu"], "events/s", "(load-proof)",
         _peer(peer, "rebuild", "per_cpu", "events/s", None))
    line("rebuild peak RSS", rb["rss_mib"], "MiB", TARGETS["rss"],
         _peer(peer, "rebuild", "rss_mib", "MiB", None))
    line("status whole process", st["ms"], "ms", TARGETS["status sqlite"] if kind == "sqlite"
         else "<= 150 ms (item 3)", _peer(peer, "status", "ms", "ms", floors.get("status")),
         f"cpu {st['cpu_ms']:.0f} ms, {st['rss_mib']:.0f} MiB")
    line("status cpu time", st["cpu_ms"], "ms", "(load-proof)",
         _peer(peer, "status", "cpu_ms", "ms", None))
    if "verify" in m:
        vf = m["verify"]
        line("audit verify events/s", vf["events_s"], "events/s", TARGETS["verify"],
             _peer(peer, "verify", "events_s", "events/s", floors.get("hash")),
             f"cpu {vf['cpu']:.1f} s wall {vf['wall']:.1f} s")
        line("audit verify events per cpu-second", events / vf["cpu"], "events/s",
             "(load-proof)", _peer(peer, "verify", "per_cpu", "events/s", None))
        line("audit verify peak RSS", vf["rss_mib"], "MiB", TARGETS["rss"],
             _peer(peer, "verify", "rss_mib", "MiB", None))
    return lines


def _peer(peer: dict[str, Any] | None, step: str, key: str, unit: str,
          floor: float | None) -> str | None:
    parts = []
    if peer is not None and step in peer:
        parts.append(f"peer {peer[step][key]:,.0f} {unit}")
    if floor is not None:
        parts.append(f"floor {floor:,.0f} {unit}")
    return ", ".join(parts) or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--kinds", default="sqlite,postgresql")
    parser.add_argument("--peer-floe", default=None, help="another floe to run alike")
    parser.add_argument("--peer-verify-max", type=int, default=100_000)
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if "postgresql" in kinds and not os.environ.get("FLOE_TEST_POSTGRES_URL"):
        sys.exit("FLOE_TEST_POSTGRES_URL is not set: run under scripts/with-postgres.sh")
    print(f"before: {load_line()}", flush=True)
    floor = run(["/bin/true"], dict(os.environ), Path.cwd())["rss_mib"]
    print(f"peak RSS of a bare /bin/true under the launcher: {floor:.1f} MiB", flush=True)
    lines = []
    with tempfile.TemporaryDirectory(prefix="floe-scale.") as tmp:
        for events in sorted({max(args.events // 10, 1000), args.events}):
            source, rate = cached_ledger(events)
            if rate is not None:
                name = f"fill through the aggregate @{events // 1000:,}k"
                lines.append(f"{name:<44} {rate:>12,.0f} events/s (cached for the next run)")
                record(f"fill through the aggregate @{events // 1000:,}k [sqlite]", round(rate),
                       "minutes, not hours", None, "events/s")
            for kind in kinds:
                ledger = Ledger(kind, source, events, Path(tmp) / f"{kind}-{uuid.uuid4().hex[:6]}")
                try:
                    floors = {"scan": scan_floor(ledger, False), "hash": scan_floor(ledger, True)}
                    if kind == "sqlite":
                        floors["status"] = status_floor(ledger)
                    m = measure(ledger, FLOE, verify=True)
                    peer = (measure(ledger, args.peer_floe, events <= args.peer_verify_max)
                            if args.peer_floe else None)
                    if ledger.copy_rate:
                        lines.append(f"{'COPY of the same rows into PostgreSQL':<44} "
                                     f"{ledger.copy_rate:>12,.0f} rows/s")
                    new = report("", kind, events, m, peer, floors)
                    lines += new
                    print("\n".join(new), flush=True)
                finally:
                    ledger.close()
    print(f"\n{'measure':<44} {'value':>12} {'unit':<9} {'target':<20} {'peers (same run)':<40}")
    print("\n".join(lines))
    print(f"after: {load_line()}; peak RSS of this script "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

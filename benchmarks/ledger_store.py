"""Ledger store benchmarks, SQLite against PostgreSQL, and PostgreSQL under many runners
(issue 15 item 3). Prints figures against the targets in docs/design-notes.md#performance-budgets
and writes the issue's rows to benchmarks/results.json (``_results.record``).

    scripts/with-postgres.sh .venv/bin/python benchmarks/ledger_store.py
    scripts/with-postgres.sh .venv/bin/python benchmarks/ledger_store.py --runners 4 --no-status

1. append: events/s for one event per save (views caught up after each, as the CLI does)
   and for a batched fill (50 aggregates, ~5000 events, per save), on both backends.
2. promotions/s: N runner processes (default 8) promoting through the real wiring
   (``App.promotion_service()``: store, OCI-layout registry, gates) against one ledger.
   ``own repositories``: each runner its own repository, on PostgreSQL, with the same
   runners on one shared SQLite file as the peer in the same run. ``one repository``: all
   runners promote different versions of one repository (one stream, so they contend), on
   PostgreSQL with the writers queued per stream, and as the peer the same load with
   optimistic concurrency alone (the stream lock switched off in the runners: how floe
   behaved before). Every completed promotion is checked against the ledger: lost or
   duplicated events must be 0; every refusal is counted by code (exit 7 is
   ``concurrent_modification``).
3. ``status`` whole process on PostgreSQL at 100k events (``ledger_status.py``), with the
   same command on SQLite and ``python -c "import psycopg"`` in the same run.
Big ledgers (status, audit verify and ledger rebuild at 1,000,000 events) are measured by
``ledger_scale.py``.

Needs FLOE_TEST_POSTGRES_URL (scripts/with-postgres.sh); each run uses fresh databases.
A benchmark, not a test: it never fails on a missed target, it reports it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from floe_ledger.cli.app import App, Settings
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.services.requests import PromoteRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from floe_ledger.adapters.registry import RegistrySettings, open_registry, push_files
from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.artifact import Artifact
from support.ledger_db import fresh_ledger_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import load_line, record
from ledger_fill import ACTOR, promote_events
from ledger_status import status_rows

FLOE = str(Path(sys.executable).with_name("floe"))
STEPS = [(None, "dev"), ("dev", "staging"), ("staging", "prod")]
ROW_OWN = "promotions/s, 8 PostgreSQL runners, own repositories"
ROW_ONE = "promotions/s, 8 PostgreSQL runners, one repository"
ROW_EXIT7 = "exit 7 seen, 8 PostgreSQL runners, one repository"
TARGETS = {ROW_OWN: ">= 100", ROW_ONE: ">= 20", ROW_EXIT7: "0"}


def fresh_ledger(kind: str, work: Path) -> Any:
    """A FLOE_LEDGER_URL for an empty ledger (the tests' helper: PostgreSQL databases on the
    FLOE_TEST_POSTGRES_URL server, dropped afterwards)."""
    return fresh_ledger_url(kind, work / f"ledger-{uuid.uuid4().hex[:8]}")


# ---- 1. append -------------------------------------------------------------------------------

def bench_append(kind: str, work: Path, saves: int) -> dict[str, float]:
    with fresh_ledger(kind, work) as url:
        loc = ledger_location(url, work)
        init_store(loc, {})
        store = open_store(loc, {})
        try:
            art = Artifact.register(f"bench/{kind}/one", actor=ACTOR)
            store.save(art)
            start = time.perf_counter()
            for n in range(saves):
                art.observe_version(f"v0.0.{n}", "sha256:" + f"{n:064x}", None, f"v0.0.{n}", ACTOR)
                store.save(art)
            one = saves / (time.perf_counter() - start)
            batch, total = [], 0
            start = time.perf_counter()
            for n in range(50):
                art = Artifact.register(f"bench/{kind}/batch-{n}", actor=ACTOR)
                for minor in range(20):
                    promote_events(art, f"v1.{minor}.0", None, "dev")
                batch.append(art)
                total += len(art.pending_events)
            store.app.save(*batch)
            batched = total / (time.perf_counter() - start)
        finally:
            store.close()
    return {"one event per save": one, "batched fill": batched}


# ---- 2. concurrent promotions -------------------------------------------------------------------

def write_manifest(folder: Path, repo: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.yaml"
    manifest.write_text(f"artifacts:\n  registry:\n    uri: oci-layout:{repo}\n")
    return manifest


def runner(spec: dict[str, Any]) -> None:
    """One runner process: promote every version dev -> staging -> prod, report counts."""

    env = dict(os.environ, FLOE_LEDGER_URL=spec["url"], USER=f"runner{spec['index']}")
    app = App(Settings.from_options(spec["manifest"], env))
    service, actor = app.promotion_service(), app.actor()
    if spec["optimistic"]:  # the peer: no queue per stream, optimistic concurrency alone
        app.store.stream_lock = None
    Path(spec["ready"]).touch()
    while not Path(spec["go"]).exists():
        time.sleep(0.001)
    started, done, failed = time.time(), 0, Counter[str]()
    for source, target in STEPS:
        for version in spec["versions"]:
            try:
                service.promote(PromoteRequest(version, source, target), actor)
                done += 1
            except FloeError as err:
                failed[err.code] += 1
    print(json.dumps({"started": started, "ended": time.time(), "done": done,
                      "failed": dict(failed)}))
    app.close()


def bench_promotions(work: Path, runners: int, versions: int, shared: bool, *,
                     kind: str = "postgresql", optimistic: bool = False) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    with fresh_ledger(kind, work) as url:
        init_store(ledger_location(url, work), {})
        specs: list[dict[str, Any]] = []
        for i in range(runners):
            repo = work / ("shared" if shared else f"repo-{i}") / "layout"
            registry = open_registry(RegistrySettings(uri=f"oci-layout:{repo}"), base_dir=work,
                                     env={})
            names = [f"v{i + 1}.{k}.0" for k in range(versions)]
            for name in names:
                (work / "payload.txt").write_text(name)
                push_files(registry, [work / "payload.txt"], name)
            registry.close()
            specs.append({"url": url, "index": i, "versions": names, "go": str(work / "go"),
                          "optimistic": optimistic,
                          "manifest": str(write_manifest(work / f"runner-{i}", str(repo))),
                          "ready": str(work / f"ready-{i}")})
        procs = [subprocess.Popen([sys.executable, __file__, "--runner", json.dumps(s)],
                                  stdout=subprocess.PIPE, text=True) for s in specs]
        while not all(Path(s["ready"]).exists() for s in specs):
            time.sleep(0.01)
        Path(work / "go").touch()
        reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        (work / "go").unlink()
        store = open_store(ledger_location(url, work), {})
        try:
            events = [e for _, e in store.notifications(1, 10_000_000)]
        finally:
            store.close()
    wall = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    done = sum(r["done"] for r in reports)
    completed = Counter((e.originator_id, e.version, e.target_environment) for e in events
                        if isinstance(e, ev.PromotionCompleted))
    keys = Counter((e.originator_id, e.originator_version) for e in events)
    streams = Counter(e.originator_id for e in events)
    tops = {a: max(v for (o, v) in keys if o == a) for a in streams}
    return {"promotions": done, "per_s": done / wall, "wall_s": wall,
            "failed": sum((Counter(r["failed"]) for r in reports), Counter[str]()),
            "lost": max(0, done - len(completed)) + sum(tops[a] - streams[a] for a in streams),
            "duplicated": sum(n - 1 for n in completed.values()) + sum(
                n - 1 for n in keys.values()), "events": len(events)}


# ---- report ----------------------------------------------------------------------------------

def promotion_rows(work: Path, runners: int, versions: int) -> list[tuple[str, str, str]]:
    """The three rows of issue 15 item 3, each with its peer from the same run."""
    rows: list[tuple[str, str, str]] = []
    own = bench_promotions(work / "own-pg", runners, versions, shared=False)
    own_peer = bench_promotions(work / "own-sqlite", runners, versions, shared=False,
                                kind="sqlite")
    one = bench_promotions(work / "one-pg", runners, versions, shared=True)
    one_peer = bench_promotions(work / "one-pg-optimistic", runners, versions, shared=True,
                                optimistic=True)
    exit7, exit7_peer = (r["failed"].get("concurrent_modification", 0) for r in (one, one_peer))
    peer_own = f"{own_peer['per_s']:.1f}/s: the same runners on one SQLite file"
    peer_one = f"{one_peer['per_s']:.1f}/s: optimistic concurrency alone (no stream queue)"
    peer_exit7 = f"{exit7_peer}: optimistic concurrency alone (no stream queue)"
    record(ROW_OWN, round(own["per_s"], 1), TARGETS[ROW_OWN], peer_own, "promotions/s")
    record(ROW_ONE, round(one["per_s"], 1), TARGETS[ROW_ONE], peer_one, "promotions/s")
    record(ROW_EXIT7, exit7, TARGETS[ROW_EXIT7], peer_exit7, "exit 7")
    for name, r, peer in ((ROW_OWN, own, peer_own), (ROW_ONE, one, peer_one)):
        label = name.replace("8", str(runners), 1)
        rows.append((label, f"{r['per_s']:,.1f} ({r['promotions']} in {r['wall_s']:.1f} s)",
                     f"target {TARGETS[name]}; peer {peer}"))
    rows.append((ROW_EXIT7.replace("8", str(runners), 1), str(exit7),
                 f"target {TARGETS[ROW_EXIT7]}; peer {peer_exit7}"))
    for label, r in (("own repositories", own), ("own repositories, SQLite", own_peer),
                     ("one repository", one), ("one repository, optimistic", one_peer)):
        rows.append((f"  lost / duplicated events, {label}",
                     f"{r['lost']} / {r['duplicated']} of {r['events']}",
                     f"refused: {dict(r['failed']) or 'none'}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runners", type=int, default=8)
    parser.add_argument("--versions", type=int, default=20, help="per runner (x3 promotions)")
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--no-status", action="store_true", help="skip status at 100k events")
    parser.add_argument("--runner", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runner:
        runner(json.loads(args.runner))
        return
    if not os.environ.get("FLOE_TEST_POSTGRES_URL"):
        sys.exit("FLOE_TEST_POSTGRES_URL is not set: run under scripts/with-postgres.sh")
    rows: list[tuple[str, str, str]] = []
    before = load_line()
    with TemporaryDirectory(prefix="floe-bench.") as tmp:
        work = Path(tmp)
        for kind in ("sqlite", "postgresql"):
            for name, value in bench_append(kind, work, args.saves).items():
                rows.append((f"append {name} [{kind}]", f"{value:,.0f} events/s", ""))
        rows += promotion_rows(work, args.runners, args.versions)
        if not args.no_status:
            rows += status_rows(work / "status")
    rows.append(("load average before / after", f"{before} / {load_line()}",
                 "other work skews figures: compare with the peers"))
    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows if not r[0].startswith("load"))
    print(f"\n{'measure':<{width}}  {'value':<{vwidth}}  vs target, peer in the same run")
    print(f"{'-' * width}  {'-' * vwidth}  {'-' * 30}")
    for label, figure, note in rows:
        print(f"{label:<{width}}  {figure:<{vwidth}}  {note}")


if __name__ == "__main__":
    main()

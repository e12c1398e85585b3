"""Big ledgers for the benchmarks: real events, generated once and cached.

    path, rate = cached_ledger(1_000_000)     # a SQLite ledger file (never written to: copy it)
    copy_to_postgres(path, url)               # the same rows into an initialised PostgreSQL

Every event goes through the Artifact aggregate (its invariants and its hash chain) and is
saved through the store, 50 aggregates per save. Repositories hold ~85 events each (three
promotions of a version, dev -> staging -> prod, five events a promotion), except the one
``status`` reads, which holds ``status_events`` (default 1,000: ten snapshots, so status
loads it through a sealed snapshot). The file is cached under ``$FLOE_BENCH_CACHE`` (default
``<tmp>/floe-bench-cache``), keyed by the event count, the shape version below and a
fingerprint of the event schema (every event class's topic and fields): a change to either
generates it again.

PostgreSQL gets the same stored rows, byte for byte, with COPY (generating a million events
through PostgreSQL's store would measure the append path, which is not what these rows are
for; ``ledger_store.py`` measures that).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from uuid import UUID

import psycopg

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import EnvironmentPath

SHAPE_VERSION = 1  # bump when the generated ledger's shape changes
STATUS_REPO = "oci-layout:/tmp/floe-bench/status"  # status reads it: nothing is there
PATH = EnvironmentPath(("dev", "staging", "prod"))
STEPS = [(None, "dev"), ("dev", "staging"), ("staging", "prod")]
ACTOR = Actor("bench", "bench-trace")
PER_SAVE = 50


def schema_fingerprint() -> str:
    text = ";".join(f"{cls.TOPIC}:{','.join(sorted(cls.model_fields))}"
                    for cls in sorted(ev.EVENT_TYPES, key=lambda c: c.TOPIC))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cache_dir() -> Path:
    folder = Path(os.environ.get("FLOE_BENCH_CACHE") or
                  Path(tempfile.gettempdir()) / "floe-bench-cache")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cached_ledger(events: int, status_events: int = 1000) -> tuple[Path, float | None]:
    """The cached ledger of ``events`` events, made if missing; and the generation rate in
    events/s when it was made now (None: it came from the cache)."""
    key = f"v{SHAPE_VERSION}-{schema_fingerprint()}-{events}-{status_events}"
    path = cache_dir() / f"ledger-{key}.sqlite"
    if path.exists():
        return path, None
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        scratch = Path(tmp) / "ledger.sqlite"
        start = time.perf_counter()
        written = fill(scratch, events, status_events)
        rate = written / (time.perf_counter() - start)
        shutil.move(scratch, path)
    return path, rate


def promote_events(art: Artifact, version: str, source: str | None, target: str) -> None:
    """The five events of a promotion without gates or signatures."""
    pid = str(uuid.uuid4())
    digest = "sha256:" + uuid.uuid5(uuid.NAMESPACE_URL, version).hex * 2
    art.observe_version(version, digest, source, version if source is None else
                        f"{version}-{source}", ACTOR)
    art.request_promotion(promotion_id=pid, version=version, digest=digest, source=source,
                          target=target, path=PATH, force=False, actor=ACTOR)
    for tag, mutable in ((f"{version}-{target}", False), (f"latest-{target}", True)):
        art.record_tag(pid, "bench", tag, digest, mutable=mutable, already_present=False,
                       actor=ACTOR)
    art.complete_promotion(pid, registries=[], actor=ACTOR)


def _grow(art: Artifact, minor: int) -> int:
    """Promote v1.<minor>.0 through every environment; the next minor."""
    for source, target in STEPS:
        promote_events(art, f"v1.{minor}.0", source, target)
    return minor + 1


def fill(path: Path, events: int, status_events: int) -> int:
    """``events`` events into a new SQLite ledger at ``path``; how many were written."""
    store = EventStoreLedger(ledger_location(f"sqlite:///{path}", path.parent))
    written, n = 0, 0
    try:
        status = Artifact.register(STATUS_REPO, actor=ACTOR)
        minor = 0
        while status.version < min(status_events, events) - 15:
            minor = _grow(status, minor)
            if len(status.pending_events) >= 500:
                written += len(status.pending_events)
                store.app.save(status)
        written += len(status.pending_events)
        store.app.save(status)
        while written < events:
            batch = []
            for _ in range(PER_SAVE):
                n += 1
                art = Artifact.register(f"bench/fill/repo-{n}", actor=ACTOR)
                minor = 0
                while art.version < 100 - 15 and written + art.version < events:
                    minor = _grow(art, minor)
                written += len(art.pending_events)
                batch.append(art)
                if written >= events:
                    break
            store.app.save(*batch)
    finally:
        store.close()
    return written


def copy_to_postgres(path: Path, url: str, page: int = 20_000) -> float:
    """Every stored event and snapshot row of the SQLite ledger at ``path`` into the
    PostgreSQL ledger at ``url`` (initialised, empty), in order; rows copied per second."""
    start, rows = time.perf_counter(), 0
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with psycopg.connect(url) as pg:
            last = 0
            while True:
                batch = source.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state FROM "
                    "stored_events WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, page)
                ).fetchall()
                if not batch:
                    break
                _copy(pg, "ledger_events", [r[1:] for r in batch])
                rows += len(batch)
                last = batch[-1][0]
            snapshots = source.execute(  # a few (a table without rowid)
                "SELECT originator_id, originator_version, topic, state FROM stored_snapshots "
                "ORDER BY originator_id, originator_version").fetchall()
            _copy(pg, "ledger_snapshots", snapshots)
            pg.commit()
    finally:
        source.close()
    return rows / (time.perf_counter() - start)


def _copy(pg: psycopg.Connection[tuple[object, ...]], table: str, rows: list[tuple[object, ...]]
          ) -> None:
    with pg.cursor() as cur, cur.copy(
            f"COPY {table} (originator_id, originator_version, topic, state) FROM STDIN") as copy:
        for oid, version, topic, state in rows:
            copy.write_row((UUID(str(oid)), version, topic, state))

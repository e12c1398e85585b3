"""Runners on one repository of a shared PostgreSQL ledger take turns (issue 15 item 3).

Six runner processes promote different versions of ONE repository into dev and then into
staging, all at once, through the real wiring (``App.promotion_service()``: the PostgreSQL
store, the real docker-registry, the manifest). They write one stream, so they contend on
every save. Every promotion must complete: no exit 7 (``concurrent_modification``), no
refusal of any kind, since no two runners promote the same version. The ledger then holds
each promotion's events once, its versions without gaps, and ``floe audit verify`` replays
every event from the first and checks every hash.

A second test pins what the queue per stream does: a writer that held its aggregate while
another process appended to the stream decides on the appended state (it re-reads the
stream under the lock), so its save does not conflict.

No timing is asserted: ``benchmarks/ledger_store.py`` measures the rate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry, push_files
from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.store.stream_lock import PgStreamLock
from floe_ledger.adapters.system.clock import SystemClock
from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.services.unit_of_work import ArtifactSession
from support.ledger_db import fresh_ledger_url, fresh_postgres_url
from support.registry_server import RegistryServer

RUNNERS = 6
VERSIONS = 3  # per runner, each promoted into dev, then into staging
STEPS = [(None, "dev"), ("dev", "staging")]
RUNNER = """
import json, pathlib, sys, time
from floe_ledger.cli.app import App, Settings
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.services.requests import PromoteRequest
spec = json.loads(sys.argv[1])
app = App(Settings.from_options(spec["manifest"], spec["env"]))
service, actor = app.promotion_service(), app.actor()
pathlib.Path(spec["ready"]).touch()
while not pathlib.Path(spec["go"]).exists():
    time.sleep(0.002)
outcomes = []
for source, target in spec["steps"]:
    for version in spec["versions"]:
        try:
            service.promote(PromoteRequest(version, source, target), actor)
            outcomes.append([version, target, 0, None])
        except FloeError as err:
            outcomes.append([version, target, int(err.exit_code), err.code])
app.close()
print(json.dumps(outcomes))
"""


@pytest.fixture
def pg_url(tmp_path: Path) -> Any:
    with fresh_ledger_url("postgresql", tmp_path) as url:
        yield url


def _env(url: str, manifest: Path, tmp_path: Path, user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    env.update(FLOE_LEDGER_URL=url, FLOE_MANIFEST=str(manifest), USER=user,
               DOCKER_CONFIG=str(tmp_path / "no-docker-config"))
    return env


@pytest.mark.postgres
@pytest.mark.registry
@pytest.mark.requirement("TXN-08")
def test_runners_promoting_into_one_repository_all_complete_and_the_chain_verifies(
    pg_url: str, registry_server: RegistryServer, repo_name: str, tmp_path: Path,
) -> None:
    uri = registry_server.uri(repo_name)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"artifacts:\n  registry:\n    uri: {uri}\n    plain_http: true\n")
    env = _env(pg_url, manifest, tmp_path, "lead")
    registry = open_registry(RegistrySettings(uri=uri, plain_http=True), base_dir=tmp_path,
                             env=env)
    names = [[f"v{r + 1}.{k}.0" for k in range(VERSIONS)] for r in range(RUNNERS)]
    for version in (v for group in names for v in group):
        payload = tmp_path / "payload.txt"
        payload.write_text(version)
        push_files(registry, [payload], version)
    registry.close()
    init_store(ledger_location(pg_url, tmp_path), env)

    go = tmp_path / "go"
    specs = [{"env": _env(pg_url, manifest, tmp_path, f"runner{r}"), "manifest": str(manifest),
              "versions": names[r], "steps": STEPS, "go": str(go),
              "ready": str(tmp_path / f"ready-{r}")} for r in range(RUNNERS)]
    runners = [subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(s)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for s in specs]
    deadline = time.monotonic() + 120
    while not all(Path(s["ready"]).exists() for s in specs) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=600) for p in runners]
    assert [p.returncode for p in runners] == [0] * RUNNERS, [e[-800:] for _, e in outputs]
    outcomes = [o for out, _ in outputs for o in json.loads(out.strip().splitlines()[-1])]

    # Every promotion completed: no exit 7, nor any other refusal.
    assert len(outcomes) == RUNNERS * VERSIONS * len(STEPS)
    assert [o for o in outcomes if o[2] != 0] == []

    # The ledger: each (version, environment) completed once, every event once, no gaps.
    store = open_store(ledger_location(pg_url, tmp_path), env)
    try:
        events = [e for _, e in store.notifications(1, 1_000_000)]
    finally:
        store.close()
    completed = Counter((e.version, e.target_environment) for e in events
                        if isinstance(e, ev.PromotionCompleted))
    wanted = {(v, target) for group in names for v in group for _, target in STEPS}
    assert set(completed) == wanted
    assert set(completed.values()) == {1}
    versions = sorted(e.originator_version for e in events)
    assert versions == list(range(1, len(events) + 1))  # one stream, every version once

    # The chain verifies from the first event (a fresh process, as a user runs it).
    verify = subprocess.run([str(Path(sys.executable).with_name("floe")), "audit", "verify",
                             "-o", "json"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    assert json.loads(verify.stdout)["verified"] is True


@pytest.mark.postgres
def test_a_writer_queued_behind_another_decides_on_what_it_appended(
    pg_url: str, tmp_path: Path,
) -> None:
    location = ledger_location(pg_url, tmp_path)
    init_store(location, {})
    mine, other = open_store(location, {}), open_store(location, {})
    actor = Actor("runner", "trace-queue")
    try:
        session = ArtifactSession(mine, "oci-layout:/tmp/queued", actor, SystemClock())
        session.apply(lambda a: a.observe_version("v1.0.0", "sha256:" + "1" * 64, None,
                                                  "v1.0.0", actor))
        held = session.current()
        # Another process appends to the same stream while this session holds its aggregate.
        theirs = other.load("oci-layout:/tmp/queued")
        assert theirs is not None
        theirs.observe_version("v2.0.0", "sha256:" + "2" * 64, None, "v2.0.0", actor)
        other.save(theirs)
        assert held.version == 2  # what this session saw: stale now

        seen: list[int] = []

        def change(art: Artifact) -> None:
            seen.append(art.version)
            art.observe_version("v3.0.0", "sha256:" + "3" * 64, None, "v3.0.0", actor)

        session.apply(change)
        assert seen == [3]  # decided once, on the state the other process committed
        final = other.load("oci-layout:/tmp/queued")
        assert final is not None
        assert set(final.versions) == {"v1.0.0", "v2.0.0", "v3.0.0"}
        assert final.version == 4
    finally:
        mine.close()
        other.close()


@pytest.mark.postgres
@pytest.mark.requirement("TXN-08")
def test_a_writer_stops_queueing_behind_a_hung_holder_and_goes_on_optimistically() -> None:
    """A holder that hangs (alive, lock held) delays the next writer by the wait, no more;
    once it lets go, the queue works again."""
    with fresh_postgres_url() as url, psycopg.connect(url, autocommit=True) as hung, \
            psycopg.connect(url, autocommit=True) as writer:
        stuck = PgStreamLock(hung).held("stream-a")
        assert stuck.__enter__() is True
        lock = PgStreamLock(writer, wait_seconds=0.3)
        start = time.monotonic()
        with lock.held("stream-a") as queued:
            assert queued is False
        assert 0.3 <= time.monotonic() - start < 10
        with lock.held("stream-b") as other:  # another stream is not held up at all
            assert other is True
        assert writer.execute("SHOW lock_timeout").fetchone() == ("0",)
        stuck.__exit__(None, None, None)
        with lock.held("stream-a") as queued:
            assert queued is True

"""Sixteen ``floe`` processes race to promote one version into one environment (TXN-08).

The same story runs on SQLite and on a real PostgreSQL (FLOE_TEST_POSTGRES_URL, from
``scripts/with-postgres.sh``), against the real docker-registry: exactly one process
exits 0, the others exit 10 (tag exists) or 7 (lost every retry); the ledger holds one
PromotionCompleted for it and no event twice; the registry has one env tag.

A second, deterministic test pins the interleaving sixteen processes on two cores rarely
produce: a runner that loaded the ledger before the winner decided, and decides after it.

Each process is the real CLI entry point (``floe_ledger.cli:main``, what ``.venv/bin/floe``
runs). It imports everything first, reports ready, and waits for a start file, so all
sixteen decide within a few milliseconds of each other instead of ~1 s of start-up apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry, push_files
from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.system.clock import SystemClock
from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import ConcurrencyError, TagExistsError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.oci import Descriptor, Manifest
from floe_ledger.domain.services.ports import Registry
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest
from floe_ledger.domain.services.tracing import NOOP_SPAN, SPAN_VERIFY
from support.ledger_db import KINDS, fresh_ledger_url
from support.registry_server import RegistryServer

RACERS = 16
PROMOTE = ["platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging", "-o", "json"]
LAUNCHER = """
import pathlib, sys, time
from floe_ledger.cli import main
from floe_ledger.adapters.system.clock import SystemClock
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.002)
sys.argv = ["floe", *sys.argv[3:]]
main()
"""


@pytest.fixture(params=KINDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_ledger_url(request.param, tmp_path) as url:
        yield url


def floe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the installed ``floe`` console script."""
    exe = Path(sys.executable).with_name("floe")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.registry
@pytest.mark.requirement("TXN-08")
def test_sixteen_racing_promotions_of_one_version_have_exactly_one_winner(
    ledger_url: str, registry_server: RegistryServer, repo_name: str, tmp_path: Path,
) -> None:
    uri = registry_server.uri(repo_name)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"artifacts:\n  registry:\n    uri: {uri}\n    plain_http: true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
    env.update(FLOE_LEDGER_URL=ledger_url, FLOE_MANIFEST=str(manifest),
               DOCKER_CONFIG=str(tmp_path / "no-docker-config"), USER="racer")
    registry = open_registry(RegistrySettings(uri=uri, plain_http=True), base_dir=tmp_path,
                             env=env)
    bundle = tmp_path / "bundle.txt"
    bundle.write_text("the release\n")
    pushed = push_files(registry, [bundle], "v1.0.0")

    # The schema once, then v1.0.0 into dev: the race is dev -> staging.
    assert floe(["ledger", "init", "-o", "json"], env).returncode == 0
    into_dev = floe(["platform", "promote", "v1.0.0", "--to", "dev", "-o", "json"], env)
    assert into_dev.returncode == 0, into_dev.stderr

    # Sixteen processes, all imported and waiting; then one start signal.
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(RACERS)]
    racers = [subprocess.Popen([sys.executable, "-c", LAUNCHER, str(r), str(go), *PROMOTE],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for r in ready]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=180) for p in racers]
    codes = [p.returncode for p in racers]

    # Exactly one winner; every loser was told why, in JSON.
    errors = "\n".join(err[-400:] for _, err in outputs if err.strip())
    assert codes.count(0) == 1, f"exit codes {sorted(codes)}\n{errors}"
    assert set(codes) <= {0, 7, 10}, f"exit codes {sorted(codes)}\n{errors}"
    for (out, _), code in zip(outputs, codes, strict=True):
        doc = json.loads(out)
        assert doc["success"] is (code == 0)
        if code:
            assert doc["error"]["code"] in ("tag_exists", "concurrent_modification")

    # The ledger: one completed promotion into staging, every event once, no gaps in versions.
    store = open_store(ledger_location(ledger_url, tmp_path), env)
    try:
        events = [e for _, e in store.notifications(1, 1_000_000)]
    finally:
        store.close()
    completed = [e for e in events if isinstance(e, ev.PromotionCompleted)
                 and e.target_environment == "staging" and e.version == "v1.0.0"]
    assert len(completed) == 1
    assert completed[0].digest == pushed.digest
    versions = Counter((e.originator_id, e.originator_version) for e in events)
    assert max(versions.values()) == 1
    assert sorted(v for _, v in versions) == list(range(1, len(events) + 1))

    # The registry: one staging env tag (plus latest-staging), on the pushed digest.
    staging = sorted(t for t in registry.list_tags() if t.endswith("-staging"))
    assert staging == ["latest-staging", "v1.0.0-staging"]
    for tag in staging:
        found = registry.resolve(tag)
        assert found is not None and found.digest == pushed.digest
    registry.close()

    # status, a fresh process, sees the winner's promotion.
    status = floe(["platform", "status", "-o", "json"], env)
    assert status.returncode == 0, status.stderr
    rows = {row["environment"]: row for row in json.loads(status.stdout)["environments"]}
    assert rows["staging"]["version"] == "v1.0.0"
    assert rows["staging"]["digest"] == pushed.digest


class PausingRegistry:
    """The real registry, except that the first read of ``tag`` (``resolve``, or
    ``get_manifest``: promote reads the source tag with its manifest) says so and waits for
    ``go``.

    A hand-written seam: it holds one runner between loading the ledger and deciding.
    """

    def __init__(self, inner: Registry, tag: str) -> None:
        self.inner, self.tag = inner, tag
        self.arrived, self.go = threading.Event(), threading.Event()

    def _pause(self, reference: str) -> None:
        if reference == self.tag and not self.arrived.is_set():
            self.arrived.set()
            assert self.go.wait(60), "the winner never decided"

    def resolve(self, reference: str) -> Descriptor | None:
        self._pause(reference)
        return self.inner.resolve(reference)

    def get_manifest(self, reference: str) -> Manifest:
        self._pause(reference)
        return self.inner.get_manifest(reference)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class PauseInVerify:
    """A tracer that holds the winner in its verify step, i.e. just after its decision
    (PromotionRequested) is saved, until the loser has finished."""

    def __init__(self, decided: threading.Event, release: threading.Event) -> None:
        self.decided, self.release = decided, release

    @contextmanager
    def span(self, name: str, attrs: Any = None) -> Iterator[Any]:
        if name == SPAN_VERIFY:
            self.decided.set()
            self.release.wait(60)
        yield NOOP_SPAN


@pytest.mark.registry
@pytest.mark.requirement("TXN-08")
def test_a_runner_that_loaded_before_the_winner_decided_refuses_instead_of_promoting_twice(
    ledger_url: str, registry_server: RegistryServer, repo_name: str, tmp_path: Path,
) -> None:
    location = ledger_location(ledger_url, tmp_path)
    init_store(location, {})
    registry = open_registry(RegistrySettings(uri=registry_server.uri(repo_name),
                                              plain_http=True), base_dir=tmp_path, env={})
    bundle = tmp_path / "bundle.txt"
    bundle.write_text("the release\n")
    push_files(registry, [bundle], "v1.0.0")
    stores = [open_store(location, {}), open_store(location, {})]
    pausing = PausingRegistry(registry, "v1.0.0-dev")
    loser_done = threading.Event()
    winner = PromotionService(store=stores[0], registry=registry, repository=registry.uri,
                              config=PromotionConfig(), clock=SystemClock())
    winner.promote(PromoteRequest("v1.0.0", None, "dev"), Actor("ci"))
    winner.tracer = PauseInVerify(decided=pausing.go, release=loser_done)
    loser = PromotionService(store=stores[1], registry=pausing,  # type: ignore[arg-type]
                             repository=registry.uri, config=PromotionConfig(),
                             clock=SystemClock())
    outcome: dict[str, Any] = {}

    def run(name: str, service: PromotionService, operator: str) -> None:
        try:
            outcome[name] = service.promote(PromoteRequest("v1.0.0", "dev", "staging"),
                                            Actor(operator))
        except BaseException as err:  # checked below
            outcome[name] = err
        finally:
            if name == "loser":
                loser_done.set()

    # The loser loads the ledger and stops before deciding; then the winner decides.
    threads = [threading.Thread(target=run, args=("loser", loser, "bob"))]
    threads[0].start()
    assert pausing.arrived.wait(60)
    threads.append(threading.Thread(target=run, args=("winner", winner, "alice")))
    threads[1].start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        events = [e for _, e in stores[0].notifications(1, 1_000_000)]
    finally:
        for store in stores:
            store.close()
        registry.close()

    assert not isinstance(outcome["winner"], BaseException), outcome["winner"]
    assert isinstance(outcome["loser"], TagExistsError | ConcurrencyError), outcome["loser"]
    into_staging = [type(e).__name__ for e in events
                    if getattr(e, "target_environment", None) == "staging"]
    assert into_staging.count("PromotionRequested") == 1, into_staging
    assert into_staging.count("PromotionCompleted") == 1, into_staging

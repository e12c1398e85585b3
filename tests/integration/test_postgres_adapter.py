"""The PostgreSQL store adapter: settings from FLOE_LEDGER_URL, ``floe ledger init`` once.

Runners never create tables (concurrent DDL at start-up fails), so a runner that starts
before ``floe ledger init`` must be told to run it; the password never appears in an
error. The tests that need a server use FLOE_TEST_POSTGRES_URL and fail without it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.store.postgres import (
    PostgresViewReader,
    postgres_env,
    postgres_target,
)
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.identity import Actor
from support.ledger_db import fresh_postgres_url

ENV: dict[str, str] = {}
REPO = "registry.example.com/acme/platform"


def test_postgres_settings_come_from_the_url_with_db_functions_off(tmp_path: Path) -> None:
    loc = ledger_location("postgresql://ci%40acme:p%3Ass@db.internal:6543/ledger", tmp_path)

    env = postgres_env(postgres_target(loc, {}), create_tables=False)

    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.internal", "6543", "ledger")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("ci@acme", "p:ss")
    assert env["POSTGRES_ENABLE_DB_FUNCTIONS"] == "n" and env["CREATE_TABLE"] == "n"
    assert env["POSTGRES_POOL_SIZE"] == "1" and env["POSTGRES_CONNECT_TIMEOUT"] == "5"
    assert "p:ss" not in repr(postgres_target(loc, {}))


def test_postgres_password_may_come_from_pgpassword(tmp_path: Path) -> None:
    loc = ledger_location("postgresql://ci@db.internal/ledger", tmp_path)

    target = postgres_target(loc, {"PGPASSWORD": "from-env"})

    assert (target.password, target.port, target.user) == ("from-env", 5432, "ci")
    assert postgres_env(target, create_tables=True)["CREATE_TABLE"] == "y"


def test_postgres_url_parameters_other_than_sslmode_are_refused(tmp_path: Path) -> None:
    loc = ledger_location("postgresql://ci:pw@db/ledger?sslmode=require&options=x", tmp_path)

    with pytest.raises(ConfigError, match="options"):
        postgres_target(loc, {})
    ok = ledger_location("postgresql://ci:pw@db/ledger?sslmode=verify-full", tmp_path)
    assert postgres_target(ok, {}).sslmode == "verify-full"


@pytest.mark.postgres
def test_a_runner_before_ledger_init_is_told_to_run_it(tmp_path: Path) -> None:
    with fresh_postgres_url() as url:
        secret = "not-shown-anywhere-7c1"  # the test server trusts loopback: any password works
        loc = ledger_location(url.replace(":ledger@", f":{secret}@"), tmp_path)

        with pytest.raises(ConfigError) as caught:
            open_store(loc, ENV)

    err = caught.value
    assert "floe ledger init" in err.hint and "ledger_events" in err.message
    assert secret not in f"{err.message} {err.hint} {err.details} {loc.display}"


@pytest.mark.postgres
def test_an_unreachable_postgres_is_a_config_error_without_the_password(
    tmp_path: Path,
) -> None:
    loc = ledger_location("postgresql://ledger:hunter2-zz9@127.0.0.1:1/ledger", tmp_path)

    with pytest.raises(ConfigError) as caught:
        open_store(loc, ENV)

    assert "cannot connect" in caught.value.message
    assert "hunter2-zz9" not in f"{caught.value.message} {caught.value.hint}"


@pytest.mark.postgres
def test_concurrent_inits_all_succeed_and_create_the_tables_once(tmp_path: Path) -> None:
    with fresh_postgres_url() as url:
        loc = ledger_location(url, tmp_path)
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def init() -> None:
            try:
                barrier.wait()
                init_store(loc, ENV)
            except BaseException as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=init) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        store = open_store(loc, ENV)
        try:
            store.save(Artifact.register(REPO, actor=Actor("alice")))
            assert store.views.position() == 1
        finally:
            store.close()

    assert errors == []


@pytest.mark.postgres
def test_fast_status_views_read_without_the_store_and_know_when_they_lag(
    tmp_path: Path,
) -> None:
    with fresh_postgres_url() as url:
        loc = ledger_location(url, tmp_path)
        init_store(loc, ENV)
        store = open_store(loc, ENV)
        fast = PostgresViewReader(loc, ENV)
        try:
            art = Artifact.register(REPO, actor=Actor("alice"))
            art.lock("prod", "release freeze", Actor("alice"))
            store.save(art)  # saved and folded into the views
            current_after_save = fast.current()
            store.app.save(Artifact.register(f"{REPO}-2", actor=Actor("bob")))  # not folded
            lagging = fast.current()
            store.refresh_views()
            rows = fast.statuses(str(art.id), ["dev", "prod"])
            caught_up = fast.current()
        finally:
            fast.close()
            store.close()

    assert (current_after_save, lagging, caught_up) == (True, False, True)
    assert [(r.environment, r.locked, r.lock_reason) for r in rows] == [
        ("dev", False, None), ("prod", True, "release freeze")]

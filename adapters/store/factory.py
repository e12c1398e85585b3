"""Open the ledger named by a LedgerLocation."""

from __future__ import annotations

from collections.abc import Mapping

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import LedgerLocation


def open_store(location: LedgerLocation, env: Mapping[str, str]) -> EventStoreLedger:
    """An EventStoreLedger for SQLite (created on first use) or PostgreSQL.

    PostgreSQL is shared by many runners, so it never creates tables here
    (docs/design-notes.md#p4-startup-ddl-race): a database without them is a ConfigError
    telling to run ``floe ledger init``.
    """
    if location.kind == "sqlite":
        return EventStoreLedger(location)
    from floe_ledger.adapters.store.postgres import open_postgres_store

    return open_postgres_store(location, env, create_tables=False)


def init_store(location: LedgerLocation, env: Mapping[str, str]) -> None:
    """Create tables (events and views) once."""
    if location.kind == "sqlite":
        open_store(location, env).close()
        return
    from floe_ledger.adapters.store.postgres import init_postgres

    init_postgres(location, env)

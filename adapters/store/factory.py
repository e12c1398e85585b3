"""Open the ledger named by a LedgerLocation."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import LedgerLocation
from floe_ledger.domain.model.errors import IntegrityError


def open_store(location: LedgerLocation, env: Mapping[str, str]) -> EventStoreLedger:
    """An EventStoreLedger for SQLite (created on first use) or PostgreSQL.

    PostgreSQL is shared by many runners, so it never creates tables here
    (docs/design-notes.md#p4-startup-ddl-race): a database without them is a ConfigError
    telling to run ``floe ledger init``.
    """
    if location.kind == "sqlite":
        try:
            return EventStoreLedger(location)
        except sqlite3.DatabaseError as err:  # not a database: another file, or damaged
            raise IntegrityError(
                f"the ledger {location.display} cannot be read as a SQLite database: {err}",
                hint="check FLOE_LEDGER_URL or --ledger; if that is the ledger, keep the file "
                "as evidence and verify a copy or an export ('floe audit verify --export')",
            ) from None
    from floe_ledger.adapters.store.postgres import open_postgres_store

    return open_postgres_store(location, env, create_tables=False)


def init_store(location: LedgerLocation, env: Mapping[str, str]) -> None:
    """Create tables (events and views) once."""
    if location.kind == "sqlite":
        open_store(location, env).close()
        return
    from floe_ledger.adapters.store.postgres import init_postgres

    init_postgres(location, env)

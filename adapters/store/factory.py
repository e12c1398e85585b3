"""Open the ledger named by a LedgerLocation."""

from __future__ import annotations

from collections.abc import Mapping

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import LedgerLocation
from floe_ledger.domain.errors import ConfigError


def open_store(location: LedgerLocation, env: Mapping[str, str]) -> EventStoreLedger:
    """An EventStoreLedger for SQLite (created on first use) or PostgreSQL."""
    if location.kind == "sqlite":
        return EventStoreLedger(location)
    raise ConfigError(
        f"ledger {location.display}: PostgreSQL support is not wired in yet",
        hint="use a SQLite ledger (unset FLOE_LEDGER_URL)",
    )


def init_store(location: LedgerLocation, env: Mapping[str, str]) -> None:
    """Create tables (events and views) once."""
    store = open_store(location, env)
    store.close()

"""The event store: eventsourcing's SQLite (or PostgreSQL) persistence behind LedgerStore.

Never falls back to memory: the persistence module is always set explicitly, and the
process environment is not consulted (the injected settings are the only input).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import (
    DatabaseError as StoreDatabaseError,
)
from eventsourcing.persistence import (
    IntegrityError as StoreIntegrityError,
)
from eventsourcing.persistence import (
    OperationalError,
    RecordConflictError,
)

from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.store.application import SNAPSHOT_INTERVAL as SNAPSHOT_INTERVAL
from floe_ledger.adapters.store.application import LedgerApplication
from floe_ledger.adapters.store.location import LedgerLocation
from floe_ledger.adapters.store.mapper import PydanticMapper, UntrustedSnapshot
from floe_ledger.adapters.store.rows import RowReader, decode_rows
from floe_ledger.adapters.store.stream_lock import PgStreamLock
from floe_ledger.adapters.store.views import EnvironmentViews
from floe_ledger.adapters.system.files import private_file
from floe_ledger.adapters.system.secrets import local_secret
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import ConcurrencyError, IntegrityError
from floe_ledger.domain.model.events import ArtifactEvent, TamperError
from floe_ledger.projections.audit import RawEvent
from floe_ledger.projections.environment import PROJECTED_TOPICS

REBUILD_PAGE = 5000  # events folded per transaction by ``floe ledger rebuild``
log = get_logger("floe.ledger")


def sqlite_env(location: LedgerLocation) -> dict[str, str]:
    assert location.path is not None
    private_file(location.path)  # 0600 in a 0700 .floe/ (§10, §18)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(location.path),
        "SQLITE_LOCK_TIMEOUT": "30",
    }


class EventStoreLedger:
    """LedgerStore on eventsourcing, with the environment views kept in step.

    Args:
        location: where the ledger lives.
        env: extra eventsourcing settings (e.g. from the PostgreSQL adapter).
        create_tables: False on shared PostgreSQL after ``floe ledger init``.
        stream_lock: queues the writers of one stream (PostgreSQL, :mod:`.stream_lock`).
    """

    def __init__(self, location: LedgerLocation, *, env: dict[str, str] | None = None,
                 views: EnvironmentViews | None = None, create_tables: bool = True,
                 snapshot_key: bytes | None = None,
                 stream_lock: PgStreamLock | None = None) -> None:
        self.location = location
        self.stream_lock = stream_lock
        #: The aggregate each stream's last save left, with its version and chain head:
        #: the next load of the stream reads only the newer events (see :meth:`load`).
        self._latest: dict[UUID, tuple[Artifact, int, str]] = {}
        settings = dict(env) if env is not None else sqlite_env(location)
        settings["CREATE_TABLE"] = "y" if create_tables else "n"
        with damaged_ledger(location):
            self.app = LedgerApplication(env=settings)
        mapper = cast(PydanticMapper, self.app.mapper)
        mapper.snapshot_key = snapshot_key if snapshot_key is not None else local_secret(
            "ledger-snapshots", os.environ)
        if views is None:
            assert location.path is not None
            conn = sqlite3.connect(location.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # The views are derived: a commit of theirs lost to a power cut is folded again
            # from the events (WAL keeps the file consistent); events are committed by the
            # store's own connection, which keeps SQLite's full synchronous mode.
            conn.execute("PRAGMA synchronous=NORMAL")
            views = EnvironmentViews(_AutoCommit(conn))
        self.views = views
        self.rows = RowReader(views.conn, location.kind)
        if create_tables:
            self.views.create_schema()

    #: Fold views after every save (tests, library use); the CLI folds once per command.
    auto_refresh = True
    saved = 0

    def close(self) -> None:
        if self.saved and not self.auto_refresh:
            self.refresh_views()
        self.app.close()
        self.views.close()

    # ---- LedgerStore ------------------------------------------------------------------

    def hold(self, repository: str) -> AbstractContextManager[bool]:
        """Queue behind the stream's other writers (True) where the ledger is shared;
        elsewhere nothing to wait for (False): optimistic concurrency alone."""
        if self.stream_lock is None:
            return nullcontext(False)
        return self.stream_lock.held(str(Artifact.create_id(repository)))

    def load(self, repository: str, known: Artifact | None = None) -> Artifact | None:
        """The stream's aggregate, its hash chain checked as it folds.

        ``known``: the aggregate as the caller last loaded or saved it; only the events
        appended since (by any process) are read and folded onto it. Without it, the
        aggregate this process last saved is taken the same way, once (it is handed to one
        caller), and only if it is exactly as saved (same version and chain head, nothing
        pending), so a change that failed never leaks into a later load. Otherwise the
        snapshot and the events after it are read.
        """
        aid = Artifact.create_id(repository)
        latest = self._latest.pop(aid, None)
        if known is None and latest is not None:
            artifact, version, head = latest
            if artifact.version == version and artifact.chain_head == head:
                known = artifact
        if known is not None and not known.pending_events:
            return self._fast_forward(repository, known)
        try:
            artifact = self.app.repository.get(aid)
        except AggregateNotFoundError:
            return None
        except UntrustedSnapshot as err:
            log.warning("store.snapshot_untrusted", reason=str(err))
            return self._replay(repository)
        except TamperError as err:
            raise _unverified(repository, err) from err
        return artifact

    def _fast_forward(self, repository: str, artifact: Artifact) -> Artifact:
        try:
            for event in self.app.repository.event_store.get(artifact.id, gt=artifact.version):
                artifact = cast(ArtifactEvent, event).mutate(artifact)
        except TamperError as err:
            raise _unverified(repository, err) from err
        return artifact

    def _replay(self, repository: str) -> Artifact | None:
        """The aggregate from its events alone, each link of the chain checked."""
        artifact: Artifact | None = None
        try:
            for event in self.app.repository.event_store.get(Artifact.create_id(repository)):
                artifact = cast(ArtifactEvent, event).mutate(artifact)
        except TamperError as err:
            raise _unverified(repository, err) from err
        return artifact

    def save(self, artifact: Artifact) -> int:
        pending = len(artifact.pending_events)
        if not pending:
            return 0
        self._latest.pop(artifact.id, None)
        try:
            self.app.save(artifact)
        except (StoreIntegrityError, RecordConflictError) as err:
            raise ConcurrencyError(
                f"another process changed the ledger for {artifact.repository} at the same time",
                hint="nothing was written; re-run the command",
            ) from err
        except OperationalError as err:
            raise ConcurrencyError(
                f"the ledger database is busy: {err}",
                hint="nothing was written; re-run the command",
            ) from err
        self._latest[artifact.id] = (artifact, artifact.version, artifact.chain_head)
        self.saved += pending
        if self.auto_refresh:
            self.refresh_views()
        return pending

    # ---- notifications and views ------------------------------------------------------

    def notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]:
        return decode_rows(self.rows.rows(start, limit), self.app.mapper)

    def view_notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]:
        """Only the events a view folds (the filter runs in the database)."""
        return decode_rows(self.rows.rows(start, limit, PROJECTED_TOPICS), self.app.mapper)

    def raw_notifications(self, start: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` rows from position ``start`` on, as stored (never decoded).

        The audit reads these: a row that no longer decodes must still reach the chain check.
        """
        with damaged_ledger(self.location):
            items = self.rows.rows(start, limit)
        return [RawEvent(*row) for row in items]

    def reader_spec(self) -> dict[str, str]:
        """Where another process can read this ledger: a SQLite path, or PostgreSQL's
        connection parameters and password (never logged; for ``views_job`` on stdin)."""
        if self.location.kind == "sqlite":
            return {"kind": "sqlite", "path": str(self.location.path)}
        info = self.views.conn.raw.info  # type: ignore[attr-defined]  # PgConnection
        return {"kind": "postgresql", "dsn": info.dsn, "password": info.password or ""}

    def snapshotted_streams(self) -> set[str]:
        """The artifact ids that have snapshot rows (the audit compares those)."""
        return self.rows.snapshotted()

    def snapshot_states(self, artifact_id: str) -> list[tuple[int, dict[str, Any]]]:
        """Every snapshot row of a stream as stored, seal or not: (version, state). The audit
        compares each with the state its events fold to."""
        recorder = self.app.snapshots.recorder if self.app.snapshots else None
        if recorder is None:
            return []
        rows = recorder.select_events(UUID(artifact_id))
        return [(int(r.originator_version), dict(json.loads(r.state).get("state") or {}))
                for r in rows]

    def stream_events(self, artifact_id: str) -> Iterator[ArtifactEvent]:
        """A stream's events in order, decoded (their chain is checked as they fold)."""
        for event in self.app.repository.event_store.get(UUID(artifact_id)):
            yield cast(ArtifactEvent, event)

    def max_position(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def refresh_views(self) -> int:
        """Fold new notifications into the views; a failure here never loses an event."""
        try:
            return self.views.catch_up(self.view_notifications, head=self.max_position)
        except Exception as err:  # the events are committed; the views catch up next time
            log.warning("views.catch_up_failed", error=str(err))
            return 0

    def rebuild_views(self, on_progress: Callable[[int], object] | None = None) -> int:
        """Fold the views again from the first event; ``on_progress(position)`` after each
        page (positions count every event, folded or not)."""
        self.views.drop()
        self.views.create_schema()
        return self.views.catch_up(self.view_notifications, head=self.max_position,
                                   on_page=on_progress, page=REBUILD_PAGE)


class _AutoCommit:
    """sqlite3 in autocommit mode with explicit BEGIN/COMMIT, as EnvironmentViews expects."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> Any:
        return self._conn.executemany(sql, rows)

    def commit(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


@contextmanager
def damaged_ledger(location: LedgerLocation) -> Iterator[None]:
    """A ledger file SQLite cannot read (truncated, overwritten, not a database) is an
    integrity failure (exit 14), not a bug: say which file and how to recover."""
    try:
        yield
    except (sqlite3.OperationalError, OperationalError):
        raise  # busy or locked: the callers say "re-run"
    except (sqlite3.DatabaseError, StoreDatabaseError) as err:
        raise IntegrityError(
            f"the ledger {location.display} is damaged and cannot be read: {err}",
            hint="restore it from a backup or from an export ('floe audit export' of a good "
                 "copy), then run 'floe audit verify --registry' on it",
        ) from err


def _unverified(repository: str, err: TamperError) -> IntegrityError:
    return IntegrityError(f"the ledger for {repository} does not verify: {err}",
                          hint="run 'floe audit verify' to find the first broken event")

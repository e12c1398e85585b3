"""The views check of a big ledger in a second process, while this one checks the chain.

    job = ViewsJob.start(store)        # None for a small ledger or a single CPU
    ...                                # the chain, every hash, the snapshots
    breaks = job.breaks(streams) if job else check_views(store, streams)

The same work as :func:`~floe_ledger.adapters.audit.views_check.check_views` (fold every
event that changes a view, read the views, compare), on a connection of its own, so that on
two CPUs a verify takes about as long as the longer of its two halves. The child is this
module run with ``python -m``: it reads where the ledger is (a SQLite path, or PostgreSQL
connection parameters with the password) as JSON on stdin, and prints the (artifact,
environment) pairs that differ as JSON. Anything unexpected in the child is not an answer:
the caller then checks the views in-process, as before.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from typing import IO, Any, Protocol

from eventsourcing.persistence import JSONTranscoder

from floe_ledger.adapters.audit.views_check import check_views, differing_views, view_breaks
from floe_ledger.adapters.store.mapper import PydanticMapper
from floe_ledger.adapters.store.rows import RowReader, decode_rows
from floe_ledger.adapters.store.views import EnvironmentViews
from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.projections.audit import ChainBreak
from floe_ledger.projections.environment import PROJECTED_TOPICS

PARALLEL_FROM = 100_000  # events; below, a second interpreter costs more than it saves


class _Store(Protocol):
    @property
    def views(self) -> EnvironmentViews: ...

    def view_notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]: ...
    def max_position(self) -> int: ...
    def reader_spec(self) -> dict[str, str]: ...


class ViewsJob:
    """A running views check (see the module docstring)."""

    def __init__(self, store: _Store, proc: subprocess.Popen[bytes], out: IO[bytes]) -> None:
        self.store = store
        self.proc = proc
        self.out = out
        self.answered = False  # whether the child's answer was used

    @classmethod
    def start(cls, store: Any) -> ViewsJob | None:
        """The check started beside this process, or None where it would not pay."""
        spec = getattr(store, "reader_spec", None)
        if spec is None or _cpus() < 2 or store.max_position() < PARALLEL_FROM:
            return None
        out = tempfile.TemporaryFile()  # noqa: SIM115 (read, then closed, by breaks/cancel)
        proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                stdout=out, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec()).encode())
        proc.stdin.close()
        return cls(store, proc, out)

    def breaks(self, artifact_ids: list[str]) -> list[ChainBreak]:
        """The views' breaks (computed here instead if the child gave no answer)."""
        code = self.proc.wait()
        self.out.seek(0)
        text = self.out.read()
        self.out.close()
        try:
            pairs = {(str(a), str(e)) for a, e in json.loads(text)} if code == 0 else None
        except (ValueError, TypeError):
            pairs = None
        if pairs is None:
            return check_views(self.store, artifact_ids)
        self.answered = True
        return view_breaks(pairs, artifact_ids)

    def cancel(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.out.close()


def _cpus() -> int:
    """The CPUs this process may run on (all of them where the system cannot say)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


class _Source:
    """What differing_views reads, on a connection of this process's own."""

    def __init__(self, spec: dict[str, str]) -> None:
        conn: Any
        if spec["kind"] == "sqlite":
            conn = sqlite3.connect(f"file:{spec['path']}?mode=ro", uri=True,
                                   isolation_level=None)
            self.views = EnvironmentViews(conn)
        else:
            import psycopg  # noqa: PLC0415 (PostgreSQL ledgers only)

            from floe_ledger.adapters.store.postgres import (  # noqa: PLC0415
                PgConnection,
                postgres_views,
            )

            conn = PgConnection(psycopg.connect(spec["dsn"], password=spec["password"] or None,
                                                autocommit=True))
            self.views = postgres_views(conn)
        self.rows = RowReader(conn, spec["kind"])
        self.mapper = PydanticMapper(transcoder=JSONTranscoder())

    def view_notifications(self, start: int, limit: int) -> list[tuple[int, ArtifactEvent]]:
        return decode_rows(self.rows.rows(start, limit, PROJECTED_TOPICS), self.mapper)


def _child() -> None:
    source = _Source(json.loads(sys.stdin.read()))
    pairs = differing_views(source, source.views.position())
    sys.stdout.write(json.dumps(sorted(pairs)))


if __name__ == "__main__":
    _child()

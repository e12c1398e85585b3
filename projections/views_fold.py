"""The environment views as their SQL leaves them, folded in memory, for the audit to compare.

    fold = ViewFold()
    for event in events:                 # the events a view folds, in ledger order
        fold.feed(event)
    fold.statuses(artifact_id)           # {environment: EnvironmentStatus}, as status reads
    fold.history(artifact_id, "prod")    # the digests of its history lines, oldest first

``adapters/store/views.py`` writes each view operation with an upsert; this applies the same
operations to dicts, with the same outcome: an environment row's live columns come from its
last SetLive, its lock columns from its last SetLock; a promotion keeps the artifact, version
and target it was first written with, and its last state and time. Only what ``status``
reads is kept: the environment rows, the promotions still open or rolling back (a promotion
id is never reopened once completed or rejected: every command draws a new one), and one
32-byte digest per history line (:func:`history_digest`, which both sides of a comparison
compute alike). Memory: a row per environment, 32 bytes per history line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from floe_ledger.domain.model.events import ArtifactEvent
from floe_ledger.projections.environment import (
    AppendHistory,
    SetLive,
    SetLock,
    SetPromotion,
    project,
)
from floe_ledger.projections.rows import (
    ROLLING_BACK,
    EnvironmentStatus,
    HistoryEntry,
    environment_status,
)

OPEN_STATES = ("open", ROLLING_BACK)
Key = tuple[str, str]  # (artifact id, environment)


def history_digest(entry: HistoryEntry) -> bytes:
    """A history line's content (what ``HistoryEntry.as_dict()`` compares) as 32 bytes."""
    text = json.dumps([entry.environment, entry.kind, entry.version, entry.digest,
                       entry.operator, entry.at, entry.reason, entry.ref_id, entry.details,
                       entry.identified_by], sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def newest_open(rows: Iterable[tuple[str, str, str, str, str]]
                ) -> tuple[dict[Key, str], dict[Key, tuple[str, str]]]:
    """From (artifact id, target, version, state, at) of open and rolling-back promotions:
    the newest (by ``at``) open version and rolling-back (version, at) per environment."""
    opened: dict[Key, str] = {}
    rolling: dict[Key, tuple[str, str]] = {}
    for aid, target, version, state, at in sorted(rows, key=lambda r: r[4]):
        if state == "open":
            opened[(aid, target)] = version
        else:
            rolling[(aid, target)] = (version, at)
    return opened, rolling


class ViewSide:
    """One side of a comparison: environment rows, open promotions, history digests."""

    def __init__(self) -> None:
        # (aid, env) -> [environment, version, digest, promoted_by, promoted_at, via,
        #                locked, lock_reason, locked_by, locked_at]: floe_env_state's columns
        self.rows: dict[Key, list[Any]] = {}
        self.history_lines: dict[Key, bytearray] = {}
        self.open_rows: list[tuple[str, str, str, str, str]] = []
        self._open: tuple[dict[Key, str], dict[Key, tuple[str, str]]] | None = None
        self._envs: dict[str, set[str]] | None = None

    def environments(self, artifact_id: str) -> set[str]:
        """The environments with a status row or a history line (``environments()``)."""
        return self._index().get(artifact_id, set())

    def artifacts(self) -> set[str]:
        """Every artifact with a status row or a history line."""
        return set(self._index())

    def _index(self) -> dict[str, set[str]]:
        if self._envs is None:
            self._envs = {}
            for aid, env in self.rows.keys() | self.history_lines.keys():
                self._envs.setdefault(aid, set()).add(env)
        return self._envs

    def status(self, artifact_id: str, environment: str) -> EnvironmentStatus:
        if self._open is None:
            self._open = newest_open(self.open_rows)
        opened, rolling = self._open
        key = (artifact_id, environment)
        return environment_status(environment, self.rows.get(key), opened.get(key),
                                  rolling.get(key))

    def history(self, artifact_id: str, environment: str, newest: int) -> bytes:
        """The digests of the newest ``newest`` history lines, oldest first."""
        lines = self.history_lines.get((artifact_id, environment), bytearray())
        return bytes(lines[-newest * 32:])


class ViewFold(ViewSide):
    """The views of a ledger, folded from its events in memory."""

    def __init__(self) -> None:
        super().__init__()
        self._promotions: dict[str, list[str]] = {}  # open ones: [aid, version, target, state, at]

    def feed(self, event: ArtifactEvent) -> None:
        for op in project(event):
            if isinstance(op, AppendHistory):
                key = (str(op.artifact_id), op.entry.environment)
                lines = self.history_lines.get(key)
                if lines is None:
                    lines = self.history_lines[key] = bytearray()
                lines += history_digest(op.entry)
            elif isinstance(op, SetPromotion):
                self._promotion(op)
            elif isinstance(op, (SetLive, SetLock)):
                key = (str(op.artifact_id), op.environment)
                row = self.rows.get(key)
                if row is None:
                    row = self.rows[key] = [op.environment, None, None, None, None, None, 0,
                                            None, None, None]
                if isinstance(op, SetLive):
                    row[1:6] = [op.version, op.digest, op.by, op.at, op.via]
                else:
                    row[6:10] = [int(op.locked), op.reason, op.by, op.at]

    def _promotion(self, op: SetPromotion) -> None:
        found = self._promotions.get(op.promotion_id)
        if op.state not in OPEN_STATES:
            self._promotions.pop(op.promotion_id, None)
        elif found is None:
            self._promotions[op.promotion_id] = [str(op.artifact_id), op.version, op.target,
                                                 op.state, op.at]
        else:  # the upsert keeps what it was first written with
            found[3], found[4] = op.state, op.at

    def finish(self) -> None:
        """Done feeding: the open promotions become rows like the database's."""
        self.open_rows = [(p[0], p[2], p[1], p[3], p[4]) for p in self._promotions.values()]

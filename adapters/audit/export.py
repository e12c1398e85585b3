"""What an auditor takes away: JSON Lines, or a SQLite file that opens in Datasette.

    export_jsonl(raw_events(store), Path("ledger.jsonl"))
    export_sqlite(raw_events(store), Path("ledger.db"))    # datasette ledger.db

Both carry every stored event with its recomputed hash, so the chain can be
checked again from the export (:func:`read_jsonl` feeds the same verifier). The
SQLite file has one table per event kind, ``chain`` (position, artifact_id,
version, topic, prev_hash, hash), ``streams`` (each head) and ``export_info``.
sqlite-utils is imported only here, when exporting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from floe_ledger.domain.model.errors import UsageError
from floe_ledger.projections.audit import ChainVerifier, RawEvent, parse_state, raw_hash

BATCH = 5000


@dataclass
class ExportSummary:
    """What was written."""

    path: str
    format: str
    events: int = 0
    streams: int = 0
    tables: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def line_of(raw: RawEvent) -> dict[str, Any]:
    """One exported event: where it is, its stored state and its recomputed hash."""
    state = parse_state(raw)
    out: dict[str, Any] = {
        "position": raw.position, "artifact_id": raw.artifact_id, "version": raw.version,
        "topic": raw.topic, "kind": raw.kind,
        "prev_hash": (state or {}).get("prev_hash", ""),
        "hash": raw_hash(raw, state) if state is not None else "",
    }
    if state is None:
        text = raw.state.decode(errors="replace") if isinstance(raw.state, bytes) else raw.state
        out["state_raw"] = text
    else:
        out["state"] = state
    return out


def _prepare(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists", hint="choose another -O PATH, or add --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()


def export_jsonl(rows: Iterable[RawEvent], path: Path, *, force: bool = False) -> ExportSummary:
    """Write one JSON object per event, in ledger order."""
    _prepare(path, force)
    summary = ExportSummary(str(path), "jsonl")
    streams: set[str] = set()
    with path.open("w", encoding="utf-8") as handle:
        for raw in rows:
            handle.write(json.dumps(line_of(raw), separators=(",", ":"), ensure_ascii=False))
            handle.write("\n")
            summary.events += 1
            streams.add(raw.artifact_id)
    summary.streams = len(streams)
    return summary


def read_jsonl(path: Path) -> Iterator[RawEvent]:
    """The events of a JSON Lines export, as rows the chain verifier takes."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw.decode("utf-8"))
                state = item.get("state")
                stored = (json.dumps(state) if state is not None else item["state_raw"])
                yield RawEvent(int(item["position"]), str(item["artifact_id"]),
                               int(item["version"]), str(item["topic"]), stored)
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
                raise UsageError(
                    f"{path}:{number} is not an exported event: {err}",
                    hint="give a file written by 'floe audit export -f jsonl'") from err


def export_sqlite(rows: Iterable[RawEvent], path: Path, *, force: bool = False) -> ExportSummary:
    """Write a SQLite database with sqlite-utils (one table per event kind, plus chain)."""
    import sqlite_utils

    _prepare(path, force)
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA synchronous = OFF")  # a fresh file: a crash means exporting again
    db.execute("PRAGMA journal_mode = MEMORY")
    verifier = ChainVerifier()
    chain: list[dict[str, Any]] = []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    summary = ExportSummary(str(path), "sqlite")
    for raw in rows:
        verifier.feed(raw)
        item = line_of(raw)
        chain.append({k: item[k] for k in ("position", "artifact_id", "version", "topic",
                                           "kind", "prev_hash", "hash")})
        by_kind.setdefault(raw.kind, []).append(_kind_row(item))
        summary.events += 1
        if len(chain) >= BATCH:
            _flush(db, chain, by_kind)
    _flush(db, chain, by_kind)
    report = verifier.finish()
    _finish(db, report.streams.values(), summary)
    summary.streams = len(report.streams)
    summary.tables = sorted(db.table_names())
    db.close()
    return summary


def _kind_row(item: dict[str, Any]) -> dict[str, Any]:
    row = {"position": item["position"], "artifact_id": item["artifact_id"],
           "event_version": item["version"], "hash": item["hash"]}
    state = item.get("state") or {"state_raw": item.get("state_raw", "")}
    for key, value in state.items():
        row.setdefault(key, value)
    return row


def _flush(db: Any, chain: list[dict[str, Any]], by_kind: dict[str, list[dict[str, Any]]]
           ) -> None:
    if chain:
        db["chain"].insert_all(chain, pk="position", alter=True)
    for kind, rows in by_kind.items():
        db[kind].insert_all(rows, pk="position", alter=True)
    chain.clear()
    by_kind.clear()


def _finish(db: Any, streams: Iterable[Any], summary: ExportSummary) -> None:
    heads = [s.as_dict() for s in streams]
    if heads:
        db["streams"].insert_all(heads, pk="artifact_id")
    if "chain" in db.table_names():
        db["chain"].create_index(["artifact_id", "version"], if_not_exists=True)
    db["export_info"].insert({"exported_at": datetime.now(UTC).isoformat(),
                              "events": summary.events, "format": "floe-ledger-export-v1"})

"""Uploading the archive outbox: best effort after each command, all of it on demand.

    warnings = archive_after_command(store, manifest.artifacts.audit, context)  # never raises
    with archive_outbox(store, env) as box:                   # what floe audit archive does
        box.enqueue_events(store, names)
        report = drain(box, sinks, deadline_seconds=300, due_only=False)

Objects go to each sink in ledger order; a sink's first failure ends its round (the rest
wait, not counted as failures) and the object is retried later. Nothing here changes a
command's result: an archive that is down costs one quick failed attempt and a warning.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from floe_ledger.adapters.archive.outbox import ArchiveOutbox, Pending, Result
from floe_ledger.adapters.archive.sinks import build_sinks
from floe_ledger.adapters.identity.process import LocalProcessProbe
from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.observability.redact import scrub, secret_values
from floe_ledger.adapters.store.outbox_db import open_outbox
from floe_ledger.domain.model.config import AuditConfig
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.services.audit_sinks import EVENTS, ArchiveObject, AuditSink, SinkContext

log = get_logger("floe.archive")

AFTER_COMMAND_SECONDS = 5.0
AFTER_COMMAND_BATCHES = 4  # 2,000 events: a big backlog is for 'floe audit archive'
BACKLOG_WARNING = 2 * 500  # events not even queued after a command: say how to catch up
ARCHIVE_LOCK_KEY = 0x666C6F65_6172  # serialises the archive outbox DDL on a shared PostgreSQL


@dataclass
class ArchiveReport:
    """What one upload round did."""

    written: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # the sink had the same bytes
    failed: list[dict[str, str]] = field(default_factory=list)
    not_attempted: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


@contextmanager
def archive_outbox(store: Any, env: Mapping[str, str]) -> Iterator[ArchiveOutbox]:
    """The archive outbox in the ledger's own database (SQLite file or PostgreSQL)."""
    def make(conn: Any, placeholder: str, begin: str) -> ArchiveOutbox:
        return ArchiveOutbox(conn, placeholder=placeholder, begin=begin,
                             probe=LocalProcessProbe())

    with open_outbox(store, env, make, lock_key=ARCHIVE_LOCK_KEY) as outbox:
        yield outbox


def event_sinks(sinks: Mapping[str, AuditSink]) -> list[str]:
    return [name for name, sink in sinks.items() if sink.accepts(EVENTS)]


def _error_text(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """The exception for a warning, scrubbed of secret values and credential shapes."""
    text = exc.message if isinstance(exc, FloeError) else str(exc)
    return scrub(f"{type(exc).__name__}: {text}", secrets)[:300]


def _upload(sink: AuditSink, item: Pending, secrets: Iterable[str]) -> Result:
    try:
        written = sink.put(item.object())
    except Exception as exc:  # any sink failure: keep the object and try again later
        return Result(item.sink, item.key, False, error=_error_text(exc, secrets))
    return Result(item.sink, item.key, True, written=written)


def drain(box: ArchiveOutbox, sinks: Mapping[str, AuditSink], *,
          deadline_seconds: float, due_only: bool,
          on_object: Callable[[], None] | None = None,
          secrets: Iterable[str] = ()) -> ArchiveReport:
    """Upload what is pending (due only, or everything) within the deadline; ``secrets``
    are values never to repeat in an error (the environment's secret-named variables)."""
    started = time.monotonic()
    deadline, report = started + deadline_seconds, ArchiveReport()
    claimed = box.claim(list(sinks), due_only=due_only, lease_seconds=deadline_seconds + 60)
    results: list[Result] = []
    stopped: set[str] = set()
    for item in claimed:
        if item.sink in stopped or time.monotonic() >= deadline:
            results.append(Result(item.sink, item.key, None))
            continue
        result = _upload(sinks[item.sink], item, secrets)
        results.append(result)
        if result.ok is False:
            stopped.add(item.sink)
            report.failed.append({"sink": item.sink, "key": item.key, "error": result.error})
            report.warnings.append(
                f"audit archive {sinks[item.sink].location()}: {item.key} not written "
                f"({result.error}); it stays queued, retry with 'floe audit archive'")
        else:
            (report.written if result.written else report.already).append(item.key)
        if on_object is not None:
            on_object()
        log.info("archive.attempted", sink=item.sink, key=item.key, ok=result.ok,
                 written=result.written, error=result.error)
    box.record(results)
    report.not_attempted = sum(1 for r in results if r.ok is None)
    report.seconds = time.monotonic() - started
    return report


def archive_after_command(store: Any, config: AuditConfig, context: SinkContext, *,
                          deadline_seconds: float = AFTER_COMMAND_SECONDS) -> list[str]:
    """Queue the ledger's new events and upload what is due (never raises).

    Returns:
        Warnings for the user; empty when everything was archived or nothing is configured.
    """
    if not config.sinks():
        return []
    try:
        sinks = build_sinks(config, context)
        with archive_outbox(store, context.env) as box:
            names = event_sinks(sinks)
            box.enqueue_events(store, names, max_batches=AFTER_COMMAND_BATCHES)
            warnings = drain(box, sinks, deadline_seconds=deadline_seconds, due_only=True,
                             secrets=secret_values(context.env)).warnings
            behind = box.behind(store, names)
            if behind > BACKLOG_WARNING:
                warnings.append(f"the audit archive is {behind} events behind the ledger; "
                                "run 'floe audit archive' to catch up")
            return warnings
    except Exception as exc:  # ARCH-05: the archive never changes the command's result
        text = _error_text(exc, secret_values(context.env))
        log.info("archive.outbox_failed", error=text)
        hint = f": {exc.hint}" if isinstance(exc, FloeError) and exc.hint else ""
        return [f"the audit archive was not written ({text}){hint}; the events "
                "are safe in the ledger, retry with 'floe audit archive'"]


def queue_object(store: Any, config: AuditConfig, context: SinkContext, obj: ArchiveObject,
                 *, deadline_seconds: float = AFTER_COMMAND_SECONDS) -> list[str]:
    """Queue one object (a signed checkpoint) for every sink that takes it, then upload."""
    if not config.sinks():
        return []
    try:
        sinks = build_sinks(config, context)
        with archive_outbox(store, context.env) as box:
            box.enqueue(obj, [n for n, s in sinks.items() if s.accepts(obj.kind)])
            return drain(box, sinks, deadline_seconds=deadline_seconds, due_only=True,
                         secrets=secret_values(context.env)).warnings
    except Exception as exc:
        text = _error_text(exc, secret_values(context.env))
        return [f"the {obj.kind} was not archived ({text}); retry with 'floe audit archive'"]

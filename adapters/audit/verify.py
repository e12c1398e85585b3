"""The audit use cases behind ``floe audit``: verify the chain, sign a checkpoint, read rows.

Every read goes through the raw rows of the ledger (or of a JSON Lines export), so
the folds see exactly what the chain verifier checked. The CLI's App is passed in as
:class:`AuditSources`; nothing here renders or imports the CLI.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from floe_ledger.adapters.archive.check import check_archive
from floe_ledger.adapters.audit.checkpoint import (
    checkpoint_private_key,
    read_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
    write_checkpoint,
)
from floe_ledger.adapters.audit.events import raw_events, with_events
from floe_ledger.adapters.audit.export import read_jsonl
from floe_ledger.adapters.audit.registry_check import check_registry
from floe_ledger.adapters.audit.snapshot_check import check_snapshots
from floe_ledger.adapters.audit.views_check import check_views
from floe_ledger.adapters.audit.views_job import ViewsJob
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError, UsageError, quoted
from floe_ledger.projections.audit import (
    Anchor,
    ChainBreak,
    ChainReport,
    ChainVerifier,
    RawEvent,
    check_anchors,
)
from floe_ledger.projections.audit_drift import TagDrift, TagFold

if TYPE_CHECKING:
    from floe_ledger.adapters.audit.events import AuditableStore
    from floe_ledger.adapters.store.location import LedgerLocation
    from floe_ledger.domain.model.config import ManifestConfig
    from floe_ledger.domain.services.audit_sinks import ArchiveReader
    from floe_ledger.domain.services.ports import Registry


ArchiveSource = tuple["ArchiveReader", str]  # an archive to read, and where it is


class AuditSources(Protocol):
    """Where an audit reads from (the CLI's App offers all of it, each built on first use)."""

    @property
    def ledger_location(self) -> LedgerLocation: ...

    @property
    def store(self) -> AuditableStore: ...

    @property
    def registry(self) -> Registry: ...

    @property
    def repository(self) -> str: ...

    @property
    def manifest(self) -> ManifestConfig: ...


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 date or date-time (``Z`` or an offset; naive means UTC), or ``now``."""
    value = text
    if value.lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{option}: not an ISO 8601 time: {quoted(text)}",
                             hint="e.g. 2026-11-20T14:30:00Z, 2026-11-20 or now") from None
        moment = datetime(day.year, day.month, day.day)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, false for a name the system cannot even look up (too long)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def ledger_rows(app: AuditSources, export: Path | None = None) -> Iterator[RawEvent]:
    """The raw rows of a JSON Lines export, or of the ledger (which must exist)."""
    if export is not None:
        if not _is_file(export):
            raise NotFoundError(f"no export at {export}", hint="give a file from 'floe audit "
                                "export --format jsonl'")
        return read_jsonl(export)
    loc = app.ledger_location
    if loc.kind == "sqlite" and (loc.path is None or not _is_file(loc.path)):
        raise NotFoundError(f"no ledger at {loc.display}",
                            hint="run from the folder of manifest.yaml, or set --ledger / "
                            "FLOE_LEDGER_URL")
    return raw_events(app.store)


@dataclass
class VerifyOutcome:
    """Everything ``floe audit verify`` found."""

    report: ChainReport
    breaks: list[ChainBreak] = field(default_factory=list)
    drift: list[TagDrift] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    registry: str | None = None
    warnings: list[str] = field(default_factory=list)
    invalid_records: list[dict[str, str]] = field(default_factory=list)
    snapshots: int = 0  # snapshot rows compared with the state their events fold to
    heads: list[dict[str, Any]] = field(default_factory=list)  # registry head anchors read
    archive: dict[str, Any] | None = None  # what --archive proved (ARCH-06)
    incomplete: list[dict[str, str]] = field(default_factory=list)  # recorded, not completed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.breaks or self.drift or self.invalid_records or self.incomplete)

    def payload(self) -> dict[str, Any]:
        first = self.breaks[0].as_dict() if self.breaks else None
        return {
            "verified": self.ok, "streams": len(self.report.streams),
            "events": self.report.events,
            "heads": [s.as_dict() for s in self.report.streams.values()],
            "first_break": first, "breaks": [b.as_dict() for b in self.breaks],
            "registry": self.registry, "drift": [d.as_dict() for d in self.drift],
            "records": self.records, "invalid_records": self.invalid_records,
            "checkpoint": self.checkpoint, "snapshots_checked": self.snapshots,
            "head_anchors": self.heads, "incomplete_promotions": [
                i for i in self.incomplete if i["kind"] == "promotion"],
            "incomplete_rollbacks": [i for i in self.incomplete if i["kind"] == "rollback"],
            "warnings": self.warnings, "seconds": round(self.seconds, 3),
            **({"archive": self.archive} if self.archive is not None else {}),
        }

    def error(self) -> IntegrityError:
        """The exit-14 error naming the first break (or the drift), carrying the report."""
        if self.breaks:
            b = self.breaks[0]
            where = b.repository or b.artifact_id
            kind = f" ({b.kind})" if b.kind else ""
            message = (f"ledger integrity broken at event v{b.version}{kind} of {where} "
                       f"[{b.reason}]: {b.message}")
            hint = ("restore the ledger from a backup or export; 'floe audit export' keeps "
                    "the evidence")
        elif self.incomplete:  # an interrupted promotion's tags look like drift until then
            message, hint = _incomplete_message(self.incomplete)
        elif self.drift:
            tags = ", ".join(f"{d.tag} ({d.status})" for d in self.drift)
            message = f"registry drift: {len(self.drift)} tag(s) changed outside floe: {tags}"
            hint = ("find who moved them; floe never re-points an immutable tag"
                    if any(d.status != "unexplained" for d in self.drift) else
                    "an unexplained tag was written without floe: adopt it deliberately with "
                    "'floe ledger adopt VERSION --env ENV --reason TEXT', or remove it")
        else:
            bad = self.invalid_records[0]
            message = (f"{len(self.invalid_records)} registry record(s) fail verification: "
                       f"{bad['digest']}: {bad['reason']}")
            hint = "a record was changed in the registry after it was written; find who"
        payload = self.payload()
        return IntegrityError(message, hint=hint, details={
            "first_break": payload["first_break"], "drift": [d.as_dict() for d in self.drift]},
            envelope=payload)


def _incomplete_message(incomplete: list[dict[str, str]]) -> tuple[str, str]:
    first = incomplete[0]
    if first["kind"] == "rollback":
        what = (f"rollback {first['rollback_id']} ({first['version']} in "
                f"{first['environment']}) has its registry record but no RolledBack")
        command = (f"floe platform rollback {first['version']} --env {first['environment']} "
                   "--reason TEXT")
    else:
        route = f"--from {first['source_environment']} " if first["source_environment"] else ""
        what = (f"promotion {first['promotion_id']} ({first['version']} to "
                f"{first['target_environment']}) has its registry record but no "
                "PromotionCompleted")
        command = (f"floe platform promote {first['version']} {route}--to "
                   f"{first['target_environment']}")
    message = f"{len(incomplete)} operation(s) incomplete: {what} in the ledger"
    hint = (f"if it was interrupted, finish it by running the same command again ('{command}') "
            "and verify again; if nobody interrupted it, its final events were deleted: "
            "restore the ledger from a backup or export")
    return message, hint


def verify_ledger(app: AuditSources, rows: Iterable[RawEvent], *, registry: bool = False,
                  checkpoint: Path | None = None, public_key: Path | None = None,
                  snapshots: bool = True, archive: ArchiveSource | None = None
                  ) -> VerifyOutcome:
    """Verify the chain from the first event of every stream, then the anchors, drift and
    the archive (``archive``: a reader and its location)."""
    start = time.perf_counter()
    job = ViewsJob.start(app.store) if snapshots else None  # the views, beside the chain
    try:
        outcome = _verify(app, rows, job, registry=registry, checkpoint=checkpoint,
                          public_key=public_key, snapshots=snapshots, archive=archive)
    except BaseException:
        if job is not None:
            job.cancel()
        raise
    outcome.seconds = time.perf_counter() - start
    return outcome


def _verify(app: AuditSources, rows: Iterable[RawEvent], job: ViewsJob | None, *,
            registry: bool, checkpoint: Path | None, public_key: Path | None,
            snapshots: bool, archive: ArchiveSource | None) -> VerifyOutcome:
    verifier, tags = ChainVerifier(), TagFold()
    if registry:
        for raw, event in with_events(rows):
            verifier.feed(raw)
            if event is not None:
                tags.feed(event)
    else:
        feed = verifier.feed
        for raw in rows:
            feed(raw)
    outcome = VerifyOutcome(verifier.finish())
    outcome.breaks = list(outcome.report.breaks)
    anchors: list[Anchor] = []
    if checkpoint is not None:
        anchors += _checkpoint_anchors(outcome, checkpoint, public_key)
    if registry:
        anchors += _registry_checks(app, outcome, tags)
    outcome.breaks += check_anchors(outcome.report, anchors)
    if archive is not None:  # before the views: an archived event names what changed
        compared = check_archive(outcome.report, *archive)
        outcome.archive = compared.as_dict()
        outcome.breaks += compared.breaks
    if snapshots:  # the ledger itself, not an export: its snapshots and views are checked too
        streams = list(outcome.report.streams)
        outcome.snapshots, found = check_snapshots(app.store, streams)
        outcome.breaks += found
        if not outcome.breaks:  # views of a broken ledger differ from its fold anyway
            outcome.breaks += (job.breaks(streams) if job is not None
                               else check_views(app.store, streams))
            job = None
    if job is not None:
        job.cancel()
    return outcome


def _checkpoint_anchors(outcome: VerifyOutcome, path: Path, public_key: Path | None
                        ) -> list[Anchor]:
    if public_key is None:
        raise UsageError("--checkpoint needs --public-key",
                         hint="give the PEM public key of the key that signed it")
    doc = read_checkpoint(path)
    anchors = verify_checkpoint(doc, _read(public_key))
    outcome.checkpoint = {"path": str(path), "created_at": doc["payload"].get("created_at"),
                          "streams": len(anchors)}
    return anchors


def _registry_checks(app: AuditSources, outcome: VerifyOutcome, tags: TagFold) -> list[Anchor]:
    """Drift, unexplained environment tags and edited records; this ledger's records'
    heads as anchors (the records of other ledgers are listed as foreign)."""
    outcome.registry = app.registry.uri
    found = check_registry(app.registry, app.repository, app.manifest.artifacts.promotion,
                           tags)
    outcome.drift, outcome.records = found.drift, found.records
    outcome.invalid_records, outcome.heads = found.invalid_records, found.heads
    outcome.incomplete = found.incomplete
    outcome.breaks += found.breaks
    outcome.warnings += found.warnings
    return found.anchors


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err}", hint="check the path") from err


def create_checkpoint(app: AuditSources, key: Path, out_path: Path,
                      password: bytes | None) -> dict[str, Any]:
    """Verify the chain, then sign its heads into ``out_path``."""
    key_pem = _read(key)
    checkpoint_private_key(key_pem, password)  # a bad key fails before the ledger is read
    outcome = verify_ledger(app, ledger_rows(app))
    if not outcome.ok:
        err = outcome.error()
        err.hint = "a checkpoint signs a verified ledger only; " + err.hint
        raise err
    doc = sign_checkpoint(outcome.report.heads(), key_pem, events=outcome.report.events,
                          ledger=app.ledger_location.display, password=password)
    write_checkpoint(doc, out_path)
    return {"path": str(out_path), "events": outcome.report.events,
            "heads": doc["payload"]["heads"], "created_at": doc["payload"]["created_at"],
            "algorithm": doc["signature"]["algorithm"], "key_id": doc["signature"]["key_id"]}

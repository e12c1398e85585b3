"""The ledger proved against a write-once archive (ARCH-06): pure, over a verified chain.

    found = compare_archive(report, archived_events, "s3://floe-audit/prod")
    found.breaks        # ChainBreak per stream: "edited" (hash differs), "truncated" (gone)
    found.not_archived  # ledger events the archive does not hold yet (not a failure)

Every archived event must still be in the ledger with the same hash: an event edited after
it was archived, or deleted with everything after it, or a ledger deleted and started again,
contradicts the archive. Events newer than the archive are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from floe_ledger.projections.audit_types import ChainBreak, ChainReport


@dataclass(frozen=True)
class ArchivedEvent:
    """One event as an archive holds it."""

    artifact_id: str
    version: int
    hash: str
    position: int
    kind: str = ""


@dataclass
class ArchiveComparison:
    """What the archive proved: matched events, contradictions, and what it lacks."""

    source: str
    archived: int = 0
    matched: int = 0
    not_archived: int = 0
    edited: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    breaks: list[ChainBreak] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "archived_events": self.archived,
                "matched": self.matched, "not_yet_archived": self.not_archived,
                "edited": self.edited, "missing_from_ledger": self.missing}


def _entry(a: ArchivedEvent, ledger_hash: str | None = None) -> dict[str, Any]:
    out = {"artifact_id": a.artifact_id, "version": a.version, "kind": a.kind,
           "position": a.position, "archived_hash": a.hash}
    if ledger_hash is not None:
        out["ledger_hash"] = ledger_hash
    return out


def compare_archive(report: ChainReport, archived: Iterable[ArchivedEvent],
                    source: str) -> ArchiveComparison:
    """Compare every archived event with the ledger's recomputed hashes."""
    found = ArchiveComparison(source)
    seen: set[tuple[str, int]] = set()
    first: dict[tuple[str, str], ChainBreak] = {}
    for a in archived:
        if (a.artifact_id, a.version) in seen:
            continue
        seen.add((a.artifact_id, a.version))
        found.archived += 1
        stream = report.streams.get(a.artifact_id)
        actual = stream.hashes.get(a.version) if stream is not None else None
        repo = stream.repository if stream is not None else ""
        if actual is None:
            found.missing.append(_entry(a))
            brk = ChainBreak(a.artifact_id, a.version, a.kind, "truncated",
                             f"v{a.version} ({a.kind or 'event'}) is in the archive {source} "
                             "but not in the ledger: events were deleted", None, repo)
        elif actual != a.hash:
            found.edited.append(_entry(a, actual))
            brk = ChainBreak(a.artifact_id, a.version, a.kind, "edited",
                             f"v{a.version} ({a.kind or 'event'}) hashes to {actual[:12]}… but "
                             f"the archive {source} holds {a.hash[:12]}…: the ledger was "
                             "edited after it was archived", None, repo)
        else:
            found.matched += 1
            continue
        old = first.get((a.artifact_id, brk.reason))
        if old is None or brk.version < old.version:
            first[(a.artifact_id, brk.reason)] = brk
    found.not_archived = max(0, report.events - found.matched)
    found.breaks = sorted(first.values(), key=lambda b: (b.artifact_id, b.version))
    return found

"""The ledger against an archive, as a pure fold: matched, edited, missing, not yet archived."""

from __future__ import annotations

import pytest

from floe_ledger.projections.archive import ArchivedEvent, compare_archive
from floe_ledger.projections.audit import ChainVerifier, RawEvent, parse_state, raw_hash

pytestmark = pytest.mark.requirement("ARCH-06")
AID = "7f1d9c1e-0000-5000-8000-000000000001"


def _ledger(n: int) -> list[RawEvent]:
    return [RawEvent(v, AID, v, "dev.floe/TagWritten.v1", f'{{"n": {v}}}') for v in range(1, n + 1)]


def _archived(rows: list[RawEvent]) -> list[ArchivedEvent]:
    return [ArchivedEvent(r.artifact_id, r.version, raw_hash(r, parse_state(r) or {}),
                          r.position, r.kind) for r in rows]


def _report(rows: list[RawEvent]):  # type: ignore[no-untyped-def]
    verifier = ChainVerifier()
    for r in rows:
        verifier.feed(r)
    return verifier.finish()


def test_an_archive_of_the_whole_ledger_matches() -> None:
    rows = _ledger(4)
    found = compare_archive(_report(rows), _archived(rows), "s3://b/p")
    assert (found.archived, found.matched, found.not_archived, found.breaks) == (4, 4, 0, [])


def test_newer_events_are_counted_not_failed() -> None:
    rows = _ledger(6)
    found = compare_archive(_report(rows), _archived(rows[:4]), "s3://b/p")
    assert found.not_archived == 2 and found.breaks == []


def test_an_edited_event_and_deleted_ones_are_named() -> None:
    rows = _ledger(5)
    archive = _archived(rows)
    edited = [*rows[:1], RawEvent(2, AID, 2, rows[1].topic, '{"n": 99}'), *rows[2:3]]
    found = compare_archive(_report(edited), archive, "s3://b/p")
    assert [e["version"] for e in found.edited] == [2]
    assert [m["version"] for m in found.missing] == [4, 5]
    assert {(b.reason, b.version) for b in found.breaks} == {("edited", 2), ("truncated", 4)}
    assert "s3://b/p" in found.breaks[0].message

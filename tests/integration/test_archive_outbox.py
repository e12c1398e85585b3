"""The archive outbox in a real SQLite database and the S3 sink against a real S3 server
(moto's): queued once, written once, retried after a failure, never twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from floe_ledger.adapters.archive.drain import drain
from floe_ledger.adapters.archive.objects import events_object, read_events
from floe_ledger.adapters.archive.outbox import ArchiveOutbox
from floe_ledger.adapters.archive.s3 import S3Sink, reader_for_url
from floe_ledger.domain.model.config import S3ArchiveConfig
from floe_ledger.domain.model.errors import UsageError
from floe_ledger.domain.services.audit_sinks import ArchiveObject
from floe_ledger.projections.audit import RawEvent
from support.s3_server import REGION, S3Server, start_s3

pytestmark = pytest.mark.requirement("ARCH-04", "ARCH-05")


def _rows(n: int, start: int = 1) -> list[RawEvent]:
    return [RawEvent(p, "7f1d9c1e-0000-5000-8000-000000000001", p,
                     "dev.floe/TagWritten.v1", f'{{"prev_hash": "", "n": {p}}}')
            for p in range(start, start + n)]


class Ledger:
    """A notification log of ``rows`` (the source the outbox follows)."""

    def __init__(self, rows: list[RawEvent]) -> None:
        self.rows = rows

    def raw_notifications(self, start: int, limit: int) -> list[RawEvent]:
        return [r for r in self.rows if r.position >= start][:limit]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def box(tmp_path: Path) -> ArchiveOutbox:
    conn = sqlite3.connect(tmp_path / "ledger.sqlite", isolation_level=None)
    outbox = ArchiveOutbox(conn, clock=Clock())
    outbox.create_schema()
    return outbox


def _sink(server: S3Server, bucket: str) -> S3Sink:
    return S3Sink(S3ArchiveConfig(bucket=bucket, prefix="p", retention_days=1,
                                  mode="governance", endpoint_url=server.endpoint,
                                  region=REGION))


def test_events_are_queued_once_in_batches_with_derived_keys(box: ArchiveOutbox) -> None:
    ledger = Ledger(_rows(7))
    assert box.enqueue_events(ledger, ["s3", "tape"], batch=5) == 4
    assert box.enqueue_events(ledger, ["s3", "tape"], batch=5) == 0  # tracked: nothing twice
    ledger.rows += _rows(2, start=8)
    assert box.enqueue_events(ledger, ["s3"], batch=5) == 1
    keys = [p.key for p in box.pending(["s3"])]
    assert [k.split("-")[:2] for k in keys] == [
        ["events/0000000000000001", "0000000000000005"],
        ["events/0000000000000006", "0000000000000007"],
        ["events/0000000000000008", "0000000000000009"]]
    again = events_object(_rows(5))
    assert again.key == keys[0]  # the same events are the same object
    assert [e["position"] for e in read_events(again.body)] == [1, 2, 3, 4, 5]


def test_a_failed_upload_is_retried_later_and_written_once(box: ArchiveOutbox,
                                                           s3_server: S3Server) -> None:
    down = start_s3()
    bucket = down.bucket()
    sink = _sink(down, bucket)
    box.enqueue_events(Ledger(_rows(3)), ["s3"])
    down.stop()
    try:
        first = drain(box, {"s3": sink}, deadline_seconds=20, due_only=True)
        assert first.failed and not first.written
        (item,) = box.pending()
        assert item.attempts == 1 and item.last_error
        assert box.claim(["s3"], due_only=True, lease_seconds=5) == []  # not due for a minute
    finally:
        down.start()
    box.clock.now += 61  # type: ignore[attr-defined]
    second = drain(box, {"s3": sink}, deadline_seconds=20, due_only=True)
    assert len(second.written) == 1 and box.pending() == []
    (key,) = down.keys(bucket)
    head = down.client().head_object(Bucket=bucket, Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    down.stop()


def test_writing_the_same_object_again_is_a_no_op(s3_server: S3Server) -> None:
    bucket = s3_server.bucket()
    sink = _sink(s3_server, bucket)
    obj = events_object(_rows(2))
    assert sink.put(obj) is True
    assert sink.put(obj) is False  # a process that died after the PUT, before recording it
    versions = s3_server.client().list_object_versions(Bucket=bucket)["Versions"]
    assert len(versions) == 1
    assert list(sink.keys("events")) == [obj.key]
    assert sink.get(obj.key) == obj.body
    other = ArchiveObject(obj.key, "events", b"other bytes", "0" * 64)
    assert sink.put(other) is True  # a new version; the locked first one stays
    assert len(s3_server.client().list_object_versions(Bucket=bucket)["Versions"]) == 2


def test_an_archive_url_must_be_s3() -> None:
    with pytest.raises(UsageError, match="s3://bucket/prefix"):
        reader_for_url("https://example.test/bucket", None)
    with pytest.raises(UsageError, match="not a bucket name"):
        reader_for_url("s3://AB/prefix", None)

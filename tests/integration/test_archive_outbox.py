"""The archive outbox in a real SQLite database and the S3 sink against a real S3 server
(moto's): queued once, written once, retried after a failure, never twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from floe_ledger.adapters.archive.drain import archive_after_command, drain
from floe_ledger.adapters.archive.objects import events_object, read_events
from floe_ledger.adapters.archive.outbox import ArchiveOutbox
from floe_ledger.adapters.archive.s3 import S3Sink, reader_for_url
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.domain.model.config import AuditConfig, S3ArchiveConfig
from floe_ledger.domain.model.errors import UsageError
from floe_ledger.domain.services.audit_sinks import ArchiveObject, SinkContext
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


class Probe:
    """Who this process is, and which lease holders still run."""

    def __init__(self, me: str, alive: bool) -> None:
        self.me, self.running = me, alive

    def owner(self) -> str:
        return self.me

    def alive(self, owner: str) -> bool | None:
        return self.running


def test_a_lease_held_by_a_live_process_is_left_to_it_and_a_dead_one_s_is_taken(
        tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    first = ArchiveOutbox(sqlite3.connect(path, isolation_level=None), probe=Probe("a", True))
    first.create_schema()
    first.enqueue_events(Ledger(_rows(2)), ["s3"])
    assert len(first.claim(["s3"], due_only=True, lease_seconds=60)) == 1
    live = ArchiveOutbox(sqlite3.connect(path, isolation_level=None), probe=Probe("b", True))
    assert live.claim(["s3"], due_only=False, lease_seconds=60) == []
    dead = ArchiveOutbox(sqlite3.connect(path, isolation_level=None), probe=Probe("c", False))
    assert len(dead.claim(["s3"], due_only=False, lease_seconds=60)) == 1


class Store(Ledger):
    """A SQLite ledger's location and notification log (what the after-command step reads)."""

    def __init__(self, rows: list[RawEvent], path: Path) -> None:
        super().__init__(rows)
        self.location = ledger_location(None, path.parent)

    def max_position(self) -> int:
        return self.rows[-1].position if self.rows else 0


def test_after_a_command_a_big_backlog_is_left_for_floe_audit_archive(
        tmp_path: Path, s3_server: S3Server) -> None:
    (tmp_path / ".floe").mkdir()
    store = Store(_rows(3500), tmp_path / "manifest.yaml")
    config = AuditConfig(s3=S3ArchiveConfig(bucket=s3_server.bucket(), retention_days=1,
                                            endpoint_url=s3_server.endpoint, region=REGION))
    warnings = archive_after_command(store, config, SinkContext())
    assert warnings == ["the audit archive is 1500 events behind the ledger; run "
                        "'floe audit archive' to catch up"]
    assert len(s3_server.keys(config.s3.bucket)) == 4  # type: ignore[union-attr]

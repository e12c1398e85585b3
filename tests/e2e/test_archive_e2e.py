"""Write-once audit archives end to end: the real `floe` against the real registry and a real
S3-compatible server (moto's, on 127.0.0.1) with Object Lock, as a user runs it.

The archive is written from the outbox after each command and by `floe audit archive`;
`floe audit verify --archive s3://...` proves the ledger against it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support.ledger_tamper import checkpoint_keys, count, rowid_of, tamper
from support.s3_server import CREDENTIALS, S3Server, start_s3
from support.workspace import Workspace

pytestmark = pytest.mark.requirement("FR-025b", "FR-026")


def _archiving(ws: Workspace, s3: S3Server, bucket: str, **kw: Any) -> Workspace:
    ws.env.update(CREDENTIALS)  # the standard AWS chain: never in the manifest
    ws.write_manifest(audit=s3.archive_config(bucket, **kw))
    return ws


def _promote(ws: Workspace, version: str, source: str | None, target: str) -> str:
    proc = ws.run("platform", "promote", version, "--to", target,
                  *(["--from", source] if source else []))
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def _history(ws: Workspace) -> None:
    ws.push("v1.0.0")
    _promote(ws, "v1.0.0", None, "dev")
    _promote(ws, "v1.0.0", "dev", "staging")


def _verify(ws: Workspace, url: str, *extra: str) -> tuple[int, Any]:
    return ws.json("audit", "verify", "--archive", url, *extra)


@pytest.mark.requirement("ARCH-01", "ARCH-04", "ARCH-05", "ARCH-06")
def test_every_event_is_archived_under_object_lock_and_verifies(
        workspace: Workspace, s3_server: S3Server) -> None:
    bucket = s3_server.bucket()
    ws = _archiving(workspace, s3_server, bucket, days=30)
    _history(ws)
    code, out = ws.json("audit", "archive")
    assert code == 0, out
    assert out["pending"] == [] and out["failed"] == []
    (sink,) = out["sinks"]
    assert sink["name"] == "s3" and sink["location"] == f"s3://{bucket}/ledger"
    keys = s3_server.keys(bucket, "ledger/events/")
    assert keys and all(k.endswith(".jsonl") for k in keys)
    client = s3_server.client()
    for key in keys:
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        until = head["ObjectLockRetainUntilDate"]
        assert timedelta(days=29) < until - datetime.now(UTC) <= timedelta(days=30)
    versions = client.list_object_versions(Bucket=bucket, Prefix=keys[0])["Versions"]
    assert len(versions) == 1  # written once, not once per command that saw it
    with pytest.raises(ClientError) as refused:
        client.delete_object(Bucket=bucket, Key=keys[0], VersionId=versions[0]["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    code, out = _verify(ws, f"s3://{bucket}/ledger")
    assert code == 0, out
    archive = out["archive"]
    assert archive["matched"] == archive["archived_events"] == out["events"]
    assert archive["not_yet_archived"] == 0 and archive["edited"] == []
    again = ws.json("audit", "archive")[1]  # nothing new: nothing written
    assert again["written"] == 0 and again["queued"] == 0
    table = ws.run("audit", "verify", "--archive", f"s3://{bucket}/ledger")
    assert table.returncode == 0, table.stderr
    assert (f"archive s3://{bucket}/ledger: {archive['matched']} of {archive['matched']} "
            "archived event(s) match") in table.stdout
    assert "0 ledger event(s) not yet archived" in table.stdout


@pytest.mark.requirement("ARCH-05", "ARCH-07")
def test_an_archive_that_is_down_never_blocks_a_promotion_and_is_caught_up_later(
        sqlite_workspace: Workspace, s3_server: S3Server, tmp_path: Path) -> None:
    own = start_s3()
    bucket = own.bucket()
    ws = _archiving(sqlite_workspace, own, bucket)
    url = f"s3://{bucket}/ledger"
    ws.push("v1.0.0")
    _promote(ws, "v1.0.0", None, "dev")  # archived after the command
    archived = len(own.keys(bucket))
    assert archived >= 1
    own.stop()
    try:
        stderr = _promote(ws, "v1.0.0", "dev", "staging")  # exit 0 all the same
        assert "audit archive" in stderr and "floe audit archive" in stderr
        assert "floe-test-secret-access-key" not in stderr
        code, out = _verify(ws, url)
        assert code == 5, out  # the archive cannot be read: not a verdict on the ledger
    finally:
        own.start()  # the same port again
    code, out = _verify(ws, url)
    assert code == 0, out  # newer ledger events are not a failure, only counted
    assert out["archive"]["not_yet_archived"] == out["events"] - out["archive"]["matched"] > 0
    status = ws.json("audit", "archive")[1]
    assert status["written"] >= 1 and status["pending"] == [] and status["failed"] == []
    assert len(own.keys(bucket)) > archived
    code, out = _verify(ws, url)
    assert code == 0 and out["archive"]["not_yet_archived"] == 0, out
    own.stop()


@pytest.fixture
def archived(sqlite_workspace: Workspace, s3_server: S3Server) -> tuple[Workspace, str]:
    """A SQLite workspace whose whole ledger is archived; its archive URL."""
    bucket = s3_server.bucket()
    ws = _archiving(sqlite_workspace, s3_server, bucket, prefix="audit/prod")
    _history(ws)
    assert ws.json("audit", "archive")[0] == 0
    return ws, f"s3://{bucket}/audit/prod"


@pytest.mark.requirement("ARCH-06")
def test_an_event_edited_after_it_was_archived_is_named_and_exits_14(
        archived: tuple[Workspace, str]) -> None:
    ws, url = archived
    last = count(ws.ledger)  # the newest event: no later link covers it, the archive does
    tamper(ws.ledger, f"UPDATE stored_events SET state = replace(state, 'v1.0.0', 'v6.6.6') "
                      f"WHERE rowid = {last}")
    code, out = _verify(ws, url)
    assert code == 14, out
    assert out["error"]["code"] == "integrity"
    (edited,) = out["archive"]["edited"]
    assert edited["version"] == last and edited["archived_hash"] != edited["ledger_hash"]
    assert f"v{last}" in out["error"]["message"] and url in out["error"]["message"]
    plain = ws.run("audit", "verify", "--archive", url)
    assert plain.returncode == 14 and "edited after it was archived" in plain.stderr


@pytest.mark.requirement("ARCH-06")
def test_an_edit_in_the_middle_is_named_against_the_archive_too(
        archived: tuple[Workspace, str]) -> None:
    ws, url = archived
    target = rowid_of(ws.ledger, "TagWritten", "v1.0.0-staging")
    tamper(ws.ledger, "UPDATE stored_events SET state = replace(state, 'v1.0.0-staging', "
                      f"'v6.6.6-staging') WHERE rowid = {target}")
    code, out = _verify(ws, url)
    assert code == 14, out
    assert [e["version"] for e in out["archive"]["edited"]] == [target]


@pytest.mark.requirement("ARCH-06")
def test_deleted_newest_events_and_a_deleted_ledger_exit_14(
        archived: tuple[Workspace, str]) -> None:
    ws, url = archived
    events = count(ws.ledger)
    tamper(ws.ledger, f"DELETE FROM stored_events WHERE rowid > {events - 3}")
    code, out = _verify(ws, url)
    assert code == 14, out
    assert [m["version"] for m in out["archive"]["missing_from_ledger"]] == [
        events - 2, events - 1, events]
    assert out["first_break"]["reason"] == "truncated"
    ws.ledger.unlink()
    code, out = _verify(ws, url)
    assert code == 14, out
    assert len(out["archive"]["missing_from_ledger"]) == events


@pytest.mark.requirement("ARCH-03")
def test_a_signed_checkpoint_is_archived_under_retention(
        archived: tuple[Workspace, str], s3_server: S3Server, tmp_path: Path) -> None:
    ws, url = archived
    key, _ = checkpoint_keys(tmp_path)
    code, out = ws.json("audit", "checkpoint", "--key", str(key), "-O", str(tmp_path / "cp.json"))
    assert code == 0, out
    bucket = url.split("/")[2]
    (stored,) = s3_server.keys(bucket, "audit/prod/checkpoints/")
    head = s3_server.client().head_object(Bucket=bucket, Key=stored)
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"]
    body = s3_server.client().get_object(Bucket=bucket, Key=stored)["Body"].read()
    assert b'"signature"' in body and b"dev.floe.checkpoint.v1" in body


@pytest.mark.requirement("ARCH-08")
def test_without_boto3_a_configured_archive_says_how_to_install_it(
        sqlite_workspace: Workspace, s3_server: S3Server, tmp_path: Path) -> None:
    """boto3 is the optional extra: a Python without it gets a hint, and promotions go on."""
    shadow = tmp_path / "no-boto3" / "boto3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named boto3')\n")
    ws = _archiving(sqlite_workspace, s3_server, s3_server.bucket())
    env = {"PYTHONPATH": str(shadow.parent)}
    ws.push("v1.0.0")
    proc = ws.run("platform", "promote", "v1.0.0", "--to", "dev", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "pip install floe-ledger[s3]" in proc.stderr
    code, out = ws.json("audit", "archive", env=env)
    assert code == 2, out
    assert "boto3" in out["error"]["message"]
    assert "pip install floe-ledger[s3]" in out["error"]["hint"]


def test_a_workspace_without_an_archive_writes_no_archive_table(
        sqlite_workspace: Workspace) -> None:
    """Nothing changes for a user who configured no sink."""
    ws = sqlite_workspace
    ws.push("v1.0.0")
    _promote(ws, "v1.0.0", None, "dev")
    with sqlite3.connect(ws.ledger) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not any(t.startswith("floe_archive") for t in tables)
    code, out = ws.json("audit", "archive")
    assert code == 2 and "artifacts.audit" in out["error"]["message"]

"""Every way of altering a ledger, and which `floe audit verify` detects it (issue 13 item 5).

One history is made by real `floe` processes against the real registry: checkout A promotes
v1.0.0 to dev and staging (an older copy of its ledger is kept here), then v1.1.0 to dev,
locks and unlocks staging, and signs a checkpoint. Checkout B, with its own ledger, promotes
in the same repository. Each case alters a private copy of A's SQLite ledger and runs
``floe audit verify`` three ways: alone, with ``--registry`` (the records and head anchors
every command leaves in the registry) and with ``--checkpoint`` (the signed heads).

A case states the weakest verify that must exit 14; the stronger ones must too. Where the
chain alone is blind (the newest events cut and the views refolded, an older copy put back,
another ledger's stream put in) the table says so: that is the window README.md names, and
the witness that closes it. The table is printed at the end of the session.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.ledger_tamper import checkpoint_keys, copy_sqlite, count, rowid_of, tamper
from support.registry_server import RegistryServer
from support.tables import add_row
from support.workspace import Workspace, make_workspace

pytestmark = pytest.mark.requirement("FR-026", "SC-003", "NFR-004")

WAYS = ("verify", "--registry", "--checkpoint")
TITLE = "Tamper windows: floe audit verify on an altered SQLite ledger"


@dataclass
class History:
    a: Workspace
    b: Workspace
    older: Path  # A's ledger after its first two promotions
    checkpoint: Path
    public_key: Path


def _ok(ws: Workspace, *args: str) -> None:
    proc = ws.run(*args)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory,
            registry_server: RegistryServer) -> History:
    root = tmp_path_factory.mktemp("tamper")
    repo = f"e2e-tamper/{root.name}"
    (root / "a").mkdir()
    (root / "b").mkdir()
    a = make_workspace(root / "a", registry_server, repo)
    b = make_workspace(root / "b", registry_server, repo)
    a.push("v1.0.0")
    a.push("v1.1.0")
    _ok(a, "platform", "promote", "v1.0.0", "--to", "dev")
    _ok(a, "platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    older = copy_sqlite(a.ledger, root / "older.sqlite")
    _ok(a, "platform", "promote", "v1.1.0", "--to", "dev")
    _ok(a, "platform", "lock", "--env", "staging", "--reason", "freeze")
    _ok(a, "platform", "unlock", "--env", "staging", "--reason", "thaw")
    _ok(b, "platform", "promote", "v1.1.0", "--from", "dev", "--to", "staging")
    private, public = checkpoint_keys(root)
    _ok(a, "audit", "checkpoint", "--key", str(private), "-O", str(root / "cp.json"))
    return History(a, b, older, root / "cp.json", public)


def _refold(h: History, ledger: Path) -> None:
    """What a careful attacker does after cutting events: rebuild the views from what is left."""
    proc = h.a.run("ledger", "rebuild", env={"FLOE_LEDGER_URL": f"sqlite:///{ledger}"})
    assert proc.returncode == 0, proc.stderr


def edit(h: History, ledger: Path) -> None:
    t = rowid_of(ledger, "TagWritten", "v1.0.0-staging")
    tamper(ledger, "UPDATE stored_events SET state = replace(state, 'v1.0.0-staging', "
         f"'v6.6.6-staging') WHERE rowid = {t}")


def reorder(h: History, ledger: Path) -> None:
    t = rowid_of(ledger, "TagWritten", "v1.0.0-staging")
    tamper(ledger, "CREATE TEMP TABLE s AS SELECT rowid AS r, state FROM stored_events "
         f"WHERE rowid IN ({t} - 1, {t})",
         f"UPDATE stored_events SET state = (SELECT state FROM s WHERE r = {t}) "
         f"WHERE rowid = {t} - 1",
         f"UPDATE stored_events SET state = (SELECT state FROM s WHERE r = {t} - 1) "
         f"WHERE rowid = {t}")


def delete_middle(h: History, ledger: Path) -> None:
    t = rowid_of(ledger, "TagWritten", "v1.0.0-staging")
    tamper(ledger, f"DELETE FROM stored_events WHERE rowid = {t}")


def delete_newest(n: int, refold: bool) -> Callable[[History, Path], None]:
    def cut(h: History, ledger: Path) -> None:
        tamper(ledger, f"DELETE FROM stored_events WHERE rowid > {count(ledger) - n}")
        if refold:
            _refold(h, ledger)
    return cut


def truncate_file(h: History, ledger: Path) -> None:
    size = ledger.stat().st_size
    with ledger.open("r+b") as f:
        f.truncate(size // 2)


def older_copy(h: History, ledger: Path) -> None:
    shutil.copyfile(h.older, ledger)


def splice_event(h: History, ledger: Path) -> None:
    """B's newest event appended to A's stream as if A had written it next."""
    with sqlite3.connect(h.b.ledger) as db:
        topic, state = db.execute("SELECT topic, state FROM stored_events "
                                  "ORDER BY rowid DESC LIMIT 1").fetchone()
    with sqlite3.connect(ledger) as db:
        aid, version = db.execute("SELECT originator_id, MAX(originator_version) "
                                  "FROM stored_events").fetchone()
        db.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state)"
                   " VALUES (?, ?, ?, ?)", (aid, version + 1, topic, state))


def splice_stream(h: History, ledger: Path) -> None:
    """A's whole stream replaced by B's (same repository, so the same stream id), views
    refolded: a self-consistent history of another ledger."""
    tamper(ledger, "DELETE FROM stored_events")
    with sqlite3.connect(h.b.ledger) as db:
        rows = db.execute("SELECT originator_id, originator_version, topic, state "
                          "FROM stored_events ORDER BY rowid").fetchall()
    with sqlite3.connect(ledger) as db:
        db.executemany("INSERT INTO stored_events (originator_id, originator_version, topic, "
                       "state) VALUES (?, ?, ?, ?)", rows)
    _refold(h, ledger)


# (case, tamper, the weakest way that must detect it)
CASES: list[tuple[str, Callable[[History, Path], None], str]] = [
    ("edit an event", edit, "verify"),
    ("reorder two events", reorder, "verify"),
    ("delete an event in the middle", delete_middle, "verify"),
    ("delete the newest event", delete_newest(1, refold=False), "verify"),
    ("delete the newest 3 events", delete_newest(3, refold=False), "verify"),
    ("delete the newest 3 events, refold the views", delete_newest(3, refold=True),
     "--registry"),
    ("truncate the file", truncate_file, "verify"),
    ("replace the ledger by an older copy", older_copy, "--registry"),
    ("splice another ledger's event into the stream", splice_event, "verify"),
    ("replace the stream by another ledger's", splice_stream, "--checkpoint"),
]


def _verify(h: History, ledger: Path, way: str) -> tuple[int, dict[str, Any]]:
    extra = {"verify": [], "--registry": ["--registry"],
             "--checkpoint": ["--checkpoint", str(h.checkpoint), "--public-key",
                              str(h.public_key)]}[way]
    proc = h.a.run("audit", "verify", "--ledger", str(ledger), *extra, "-o", "json")
    assert "Traceback" not in proc.stderr, proc.stderr
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON (exit {proc.returncode}): {proc.stdout!r} "
                             f"{proc.stderr!r}") from None
    return proc.returncode, doc


def _finding(doc: dict[str, Any]) -> str:
    if doc.get("success", True):
        return "verified"
    first = doc.get("first_break") or {}
    if first:
        return f"{first.get('reason')} ({first.get('kind') or 'chain'})"
    return str(doc.get("error", {}).get("code"))


def test_an_untouched_copy_verifies_every_way(history: History, tmp_path: Path) -> None:
    ledger = copy_sqlite(history.a.ledger, tmp_path / "ledger.sqlite")
    for way in WAYS:
        code, doc = _verify(history, ledger, way)
        assert code == 0, (way, doc)
    add_row(TITLE, "untouched (control)", {"needs": "-", **{w: "exit 0" for w in WAYS}})


@pytest.mark.parametrize(("case", "tamper", "needs"), CASES, ids=[c[0] for c in CASES])
def test_each_alteration_is_detected(history: History, tmp_path: Path, case: str,
                                     tamper: Callable[[History, Path], None],
                                     needs: str) -> None:
    ledger = copy_sqlite(history.a.ledger, tmp_path / "ledger.sqlite")
    tamper(history, ledger)
    row: dict[str, Any] = {"needs": needs}
    for way in WAYS:
        code, doc = _verify(history, ledger, way)
        row[way] = f"exit {code}: {_finding(doc)}"
        if WAYS.index(way) >= WAYS.index(needs):
            assert code == 14, (case, way, doc)
            assert doc["success"] is False and doc["error"]["hint"]
        else:  # the window this witness does not cover: verify must not claim more
            assert code in (0, 14), (case, way, doc)
    add_row(TITLE, case, row)


def _kill_right_after_its_record(ws: Workspace, args: tuple[str, ...], kind: str) -> None:
    """Run ``args`` until a run dies with its registry record as the last thing done: killed
    right after its first durable step, a run resumes the last one's work and dies again one
    step further. (A resumed rollback puts ``latest-<env>`` again first: a run that got no
    further than the last one is let one step further.)"""
    log, after, last = ws.root / "steps.txt", 1, ""
    for _ in range(20):
        log.write_text("")
        proc = ws.run(*args, env={"FLOE_TEST_CRASH_AFTER": str(after),
                                  "FLOE_TEST_CRASH_LOG": str(log)})
        steps = log.read_text().splitlines()
        if proc.returncode != -9 or steps[-1] == f"registry:referrer {kind}":
            break
        after, last = after + (steps[-1] == last), steps[-1]
    assert proc.returncode == -9 and steps[-1] == f"registry:referrer {kind}", steps


@pytest.mark.requirement("FR-026", "NFR-004", "TXN-03")
def test_a_promotion_killed_after_its_record_is_incomplete_until_resumed(
        sqlite_workspace: Workspace) -> None:
    """The registry witnessed the promotion (its record), the ledger never completed it:
    verify --registry fails closed with the command that finishes it, until it is run."""
    ws = sqlite_workspace
    ws.push("v1.0.0")
    _ok(ws, "platform", "promote", "v1.0.0", "--to", "dev")
    args = ("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    _kill_right_after_its_record(ws, args, "promotion")
    code, doc = ws.json("audit", "verify", "--registry")
    assert code == 14, doc
    [incomplete] = doc["incomplete_promotions"]
    assert (incomplete["version"], incomplete["target_environment"]) == ("v1.0.0", "staging")
    assert "incomplete" in doc["error"]["message"]
    assert "floe platform promote v1.0.0 --from dev --to staging" in doc["error"]["hint"]
    code, out = ws.json(*args)
    assert code == 0 and out["resumed"] is True, out
    code, doc = ws.json("audit", "verify", "--registry")
    assert code == 0, doc


@pytest.mark.requirement("FR-026", "NFR-004", "TXN-03", "RB-01")
def test_a_rollback_killed_after_its_record_is_incomplete_until_resumed(
        sqlite_workspace: Workspace) -> None:
    """The same for a rollback: its record without RolledBack is exit 14 until the same
    command finishes it."""
    ws = sqlite_workspace
    ws.push("v1.0.0")
    ws.push("v1.1.0")
    _ok(ws, "platform", "promote", "v1.0.0", "--to", "dev")
    _ok(ws, "platform", "promote", "v1.1.0", "--to", "dev")
    args = ("platform", "rollback", "v1.0.0", "--env", "dev", "--reason", "bad 1.1")
    _kill_right_after_its_record(ws, args, "rollback")
    code, doc = ws.json("audit", "verify", "--registry")
    assert code == 14, doc
    assert doc["incomplete_promotions"] == []
    [incomplete] = doc["incomplete_rollbacks"]
    assert (incomplete["version"], incomplete["environment"]) == ("v1.0.0", "dev")
    assert "no RolledBack" in doc["error"]["message"]
    assert "floe platform rollback v1.0.0 --env dev --reason TEXT" in doc["error"]["hint"]
    code, out = ws.json(*args)
    assert code == 0 and out["resumed"] is True, out
    code, doc = ws.json("audit", "verify", "--registry")
    assert code == 0, doc

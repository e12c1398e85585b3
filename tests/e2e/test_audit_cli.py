"""`floe audit` end to end, the way an auditor runs it, against a ledger made by real promotions.

Tampering is done with sqlite3 on the real ledger file (a copy per test): the events
table is ``stored_events`` (originator_id, originator_version, topic, state) and its
rowid is the notification position.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from floe_ledger.adapters.audit.events import raw_events
from floe_ledger.adapters.records import OciRecordWriter, list_records
from floe_ledger.adapters.registry import RegistrySettings, open_registry
from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.projections.audit import parse_state, raw_hash
from support.ledger_tamper import checkpoint_keys, copy_sqlite, count, rowid_of, tamper
from support.registry_server import RegistryServer
from support.workspace import Workspace, copy_tag, make_workspace

pytestmark = pytest.mark.requirement("FR-026")


def _promote(ws: Workspace, version: str, source: str | None, target: str) -> None:
    args = ["platform", "promote", version, "--to", target]
    proc = ws.run(*args, *(["--from", source] if source else []))
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory,
             registry_server: RegistryServer) -> Workspace:
    """v1.0.0 dev -> staging, v1.1.0 into dev, dev rolled back to v1.0.0: one stream."""
    root = tmp_path_factory.mktemp("audit-e2e")
    ws = make_workspace(root, registry_server, f"e2e-audit/{root.name}")
    ws.push("v1.0.0")
    ws.push("v1.1.0")
    _promote(ws, "v1.0.0", None, "dev")
    _promote(ws, "v1.0.0", "dev", "staging")
    _promote(ws, "v1.1.0", None, "dev")
    proc = ws.run("platform", "rollback", "v1.0.0", "--env", "dev", "--reason", "bad config")
    assert proc.returncode == 0, proc.stderr
    return ws


@pytest.fixture
def ledger(promoted: Workspace, tmp_path: Path) -> Path:
    """A private copy of the promoted ledger, to tamper with."""
    return copy_sqlite(promoted.ledger, tmp_path / "ledger.sqlite")


def audit(ws: Workspace, ledger: Path, *args: str) -> tuple[int, Any]:
    return ws.json("audit", *args, "--ledger", str(ledger))


def test_an_untouched_ledger_verifies_and_shows_each_head(promoted: Workspace,
                                                          ledger: Path) -> None:
    code, out = audit(promoted, ledger, "verify")
    assert code == 0, out
    assert out["success"] is True and out["verified"] is True
    events = count(ledger)
    assert (out["streams"], out["events"]) == (1, events)
    (head,) = out["heads"]
    assert head["version"] == events and len(head["hash"]) == 64
    assert head["repository"] == promoted.registry_uri
    table = promoted.run("audit", "verify", "--ledger", str(ledger))
    assert table.returncode == 0 and head["hash"] in table.stdout
    assert f"1 stream(s), {events} events" in table.stdout


@pytest.mark.parametrize(("statements", "blamed", "kind", "reason"), [
    pytest.param(["UPDATE stored_events SET state = replace(state, 'v1.0.0-staging', "
                  "'v6.6.6-staging') WHERE rowid = {t}"], 0, "TagWritten", "edited", id="edit"),
    pytest.param(["DELETE FROM stored_events WHERE rowid = {t} - 1"], 0, "TagWritten",
                 "removed", id="delete-middle"),
    pytest.param(["UPDATE stored_events SET originator_version = -1 WHERE rowid = {t} - 1",
                  "UPDATE stored_events SET originator_version = {t} - 1 WHERE rowid = {t}",
                  "UPDATE stored_events SET originator_version = {t} WHERE rowid = -1 + {t} "],
                 None, None, "reordered", id="swap-versions"),
    pytest.param(["CREATE TEMP TABLE s AS SELECT rowid AS r, state FROM stored_events "
                  "WHERE rowid IN ({t} - 1, {t})",
                  "UPDATE stored_events SET state = (SELECT state FROM s WHERE r = {t}) "
                  "WHERE rowid = {t} - 1",
                  "UPDATE stored_events SET state = (SELECT state FROM s WHERE r = {t} - 1) "
                  "WHERE rowid = {t}"], -1, None, "reordered", id="swap-states"),
])
def test_tampering_with_the_sqlite_file_is_named_and_exits_14(
        promoted: Workspace, ledger: Path, statements: list[str], blamed: int | None,
        kind: str | None, reason: str) -> None:
    target = rowid_of(ledger, "TagWritten", "v1.0.0-staging")  # one stream: rowid = version
    tamper(ledger, *(sql.format(t=target) for sql in statements))
    code, out = audit(promoted, ledger, "verify")
    assert code == 14, out
    assert out["success"] is False and out["error"]["code"] == "integrity"
    first = out["first_break"]
    assert first["reason"] == reason
    assert blamed is None or first["version"] == target + blamed
    assert kind is None or first["kind"] == kind
    assert f"v{first['version']}" in out["error"]["message"]
    plain = promoted.run("audit", "verify", "--ledger", str(ledger))
    assert plain.returncode == 14 and f"[{reason}]" in plain.stderr


def test_deleting_the_newest_events_is_caught_by_a_signed_checkpoint(
        promoted: Workspace, ledger: Path, tmp_path: Path) -> None:
    private, public = checkpoint_keys(tmp_path)
    checkpoint = tmp_path / "cp.json"
    code, out = audit(promoted, ledger, "checkpoint", "--key", str(private), "-O",
                      str(checkpoint))
    assert code == 0, out
    events = count(ledger)
    assert out["algorithm"] == "ed25519" and out["events"] == events
    tamper(ledger, f"DELETE FROM stored_events WHERE rowid > {events - 3}")
    code, out = audit(promoted, ledger, "verify")
    # An unkeyed chain cannot see a cut at the end; only the views that had folded the cut
    # events do (a weak witness: whoever cuts can refold them) ...
    assert code == 14 and [b["kind"] for b in out["breaks"]] == ["views"]
    code, out = audit(promoted, ledger, "verify", "--checkpoint", str(checkpoint),
                      "--public-key", str(public))
    assert code == 14, out  # ... the checkpoint can
    assert out["first_break"]["reason"] == "truncated"
    assert out["first_break"]["version"] == events - 2
    doc = json.loads(checkpoint.read_text())
    next(iter(doc["payload"]["heads"].values()))["version"] = events - 3
    checkpoint.write_text(json.dumps(doc))
    code, out = audit(promoted, ledger, "verify", "--checkpoint", str(checkpoint),
                      "--public-key", str(public))
    assert code == 14 and "signature" in out["error"]["message"]


def test_a_checkpoint_of_a_broken_ledger_is_refused(promoted: Workspace, ledger: Path,
                                                    tmp_path: Path) -> None:
    private, _ = checkpoint_keys(tmp_path)
    tamper(ledger, "DELETE FROM stored_events WHERE rowid = 4")
    code, _ = audit(promoted, ledger, "checkpoint", "--key", str(private), "-O",
                    str(tmp_path / "cp.json"))
    assert code == 14 and not (tmp_path / "cp.json").exists()


def _write_records(ws: Workspace) -> int:
    """Records for every completed promotion, as the promote flow writes them (a record the
    CLI already wrote is kept). Returns the newest ledger head the records carry."""
    store = EventStoreLedger(ledger_location(None, ws.root))
    registry = open_registry(RegistrySettings(uri=ws.registry_uri, plain_http=True),
                             base_dir=ws.root, env={"DOCKER_CONFIG": str(ws.root / ".docker")})
    try:
        rows = list(raw_events(store))
        for i, row in enumerate(rows):
            state = parse_state(row) or {}
            if row.kind != "PromotionCompleted":
                continue
            before = rows[i - 1]
            head = {"artifact_id": before.artifact_id, "version": before.version,
                    "hash": raw_hash(before, parse_state(before) or {})}
            OciRecordWriter().write(registry, state["digest"], {
                "promotion_id": state["promotion_id"], "version": state["version"],
                "source_environment": state["source_environment"],
                "target_environment": state["target_environment"],
                "operator": state["operator"], "ledger_head": head})
        records = list_records(registry, json.loads(rows[-1].state)["digest"])
        heads = [r.ledger_head for r in records if r.ledger_head is not None]
        assert len(heads) == 2
        return max(h[1] for h in heads)
    finally:
        registry.close()
        store.close()


@pytest.mark.requirement("FR-023", "FR-026", "SC-003")
def test_deleting_the_newest_events_is_caught_by_the_registry_records(
        sqlite_workspace: Workspace) -> None:
    workspace = sqlite_workspace
    workspace.push("v1.0.0")
    _promote(workspace, "v1.0.0", None, "dev")
    _promote(workspace, "v1.0.0", "dev", "staging")
    recorded = _write_records(workspace)
    code, out = workspace.json("audit", "verify", "--registry")
    assert code == 0, out
    assert len(out["records"]) == 2 and out["drift"] == []
    tamper(workspace.ledger, f"DELETE FROM stored_events WHERE rowid >= {recorded}")
    code, out = workspace.json("audit", "verify")
    # The chain alone cannot tell; the views, which had folded the deleted events, can (a
    # weak witness: whoever deletes events can refold the views too).
    assert code == 14 and [b["kind"] for b in out["breaks"]] == ["views"]
    code, out = workspace.json("audit", "verify", "--registry")
    assert code == 14, out
    first = out["first_break"]
    assert (first["reason"], first["version"]) == ("truncated", recorded)
    # The newest witness speaks: the head each command anchors when it ends (it saw more
    # events than the promotion records, which are written before their completion).
    assert "registry anchor floe-staging-index" in first["message"]


@pytest.mark.requirement("FR-026", "SC-003")
def test_tags_moved_outside_floe_are_drift(workspace: Workspace) -> None:
    workspace.push("v1.0.0")
    workspace.push("v1.1.0")
    _promote(workspace, "v1.0.0", None, "dev")
    assert workspace.json("audit", "verify", "--registry")[0] == 0
    copy_tag(workspace.registry_uri, "v1.1.0", "latest-dev")     # moved by hand
    copy_tag(workspace.registry_uri, "v1.1.0", "v1.0.0-dev")     # an immutable tag moved
    copy_tag(workspace.registry_uri, "v1.1.0", "latest-prod")    # never written by floe
    code, out = workspace.json("audit", "verify", "--registry")
    assert code == 14, out
    assert out["first_break"] is None
    assert {(d["tag"], d["status"]) for d in out["drift"]} == {
        ("latest-dev", "moved"), ("v1.0.0-dev", "moved"), ("latest-prod", "untracked")}
    assert "latest-dev (moved)" in out["error"]["message"]


@pytest.mark.requirement("SC-003")
def test_replay_as_of_between_promotions_and_a_rollback(promoted: Workspace,
                                                        ledger: Path) -> None:
    code, out = audit(promoted, ledger, "history", "--env", "dev", "--kind", "promote",
                      "--kind", "rollback")
    assert code == 0, out
    at = [datetime.fromisoformat(e["at"]) for e in reversed(out["entries"])]
    assert [e["kind"] for e in reversed(out["entries"])] == [
        "PromotionCompleted", "PromotionCompleted", "RolledBack"]

    def dev_at(moment: datetime) -> dict[str, Any] | None:
        code, state = audit(promoted, ledger, "replay", "--as-of", moment.isoformat())
        assert code == 0, state
        envs = {e["environment"]: e for a in state["artifacts"] for e in a["environments"]}
        return envs.get("dev")

    assert dev_at(at[0] - (at[1] - at[0])) is None
    first = dev_at(at[0] + (at[1] - at[0]) / 2)
    assert first is not None and (first["version"], first["via"]) == ("v1.0.0", "promotion")
    second = dev_at(at[1] + (at[2] - at[1]) / 2)
    assert second is not None and (second["version"], second["via"]) == ("v1.1.0", "promotion")
    rolled = dev_at(at[2])
    assert rolled is not None and (rolled["version"], rolled["via"]) == ("v1.0.0", "rollback")


@pytest.mark.requirement("SC-003")
def test_history_filters(promoted: Workspace, ledger: Path) -> None:
    code, out = audit(promoted, ledger, "history", "--env", "staging", "--kind", "promote")
    assert code == 0, out
    assert [(e["version"], e["kind"]) for e in out["entries"]] == [
        ("v1.0.0", "PromotionCompleted")]
    code, out = audit(promoted, ledger, "history", "--operator", "ci-runner", "--limit", "3")
    assert [e["kind"] for e in out["entries"]] == ["RolledBack", "RollbackRequested",
                                                   "PromotionCompleted"]
    digest = out["entries"][2]["digest"]
    code, out = audit(promoted, ledger, "history", "--digest", digest[7:19], "--kind", "tag")
    assert {e["digest"] for e in out["entries"]} == {digest} and len(out["entries"]) == 2
    code, out = audit(promoted, ledger, "history", "--digest", digest, "--kind", "rollback")
    assert out["count"] == 0  # the rollback re-pointed dev to the other digest
    code, out = audit(promoted, ledger, "history", "--since", "2999-01-01")
    assert code == 0 and out["count"] == 0
    assert audit(promoted, ledger, "history", "--kind", "deploy")[0] == 2
    assert audit(promoted, ledger, "replay", "--as-of", "yesterday-ish")[0] == 2


@pytest.mark.requirement("SC-003")
def test_exports_carry_every_event_and_verify_again(promoted: Workspace, ledger: Path,
                                                     tmp_path: Path) -> None:
    jsonl, db = tmp_path / "ledger.jsonl", tmp_path / "ledger.db"
    events = count(ledger)
    code, out = audit(promoted, ledger, "export", "--format", "jsonl", "-O", str(jsonl))
    assert code == 0 and out["events"] == events, out
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(lines) == events and all(len(line["hash"]) == 64 for line in lines)
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(lines))
    code, out = audit(promoted, ledger, "export", "--format", "sqlite", "-O", str(db))
    assert code == 0, out
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"chain", "PromotionCompleted", "TagWritten", "streams"} <= tables
        assert conn.execute("SELECT COUNT(*) FROM chain").fetchone()[0] == events
    assert audit(promoted, ledger, "export", "--format", "jsonl", "-O", str(jsonl))[0] == 2
    code, out = promoted.json("audit", "verify", "--export", str(jsonl))
    assert code == 0 and out["events"] == events, out
    tag = next(line for line in lines if line["kind"] == "TagWritten")
    tag["state"]["tag"] = "v6.6.6-dev"
    jsonl.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, out = promoted.json("audit", "verify", "--export", str(jsonl))
    assert code == 14 and out["first_break"]["version"] == tag["version"]


def test_a_missing_ledger_exits_3(promoted: Workspace, tmp_path: Path) -> None:
    code, out = audit(promoted, tmp_path / "nowhere.sqlite", "verify")
    assert code == 3 and "no ledger" in out["error"]["message"]


@pytest.mark.requirement("FR-026", "SC-003", "FR-048")
def test_deleting_a_refusal_is_caught_by_the_head_anchor(sqlite_workspace: Workspace) -> None:
    """Security review §6: refusals left no record, so deleting the newest one passed."""
    ws = sqlite_workspace
    ws.push("v1.0.0")
    _promote(ws, "v1.0.0", None, "dev")
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "prod")
    assert code == 9, out  # refused, recorded, and the head anchored when the command ended
    code, out = ws.json("audit", "verify", "--registry")
    assert code == 0, out
    # One anchor per environment the ledger acted in, in that environment's index: the
    # refusal's is prod's (the environment it named), and it saw every event.
    heads = {h["tag"]: h for h in out["head_anchors"]}
    assert set(heads) == {"floe-dev-index", "floe-prod-index"}
    assert len({h["ledger_id"] for h in heads.values()}) == 1
    assert heads["floe-prod-index"]["ledger_head"]["version"] == len(ws.event_kinds())
    refusal = rowid_of(ws.ledger, "PromotionRejected", "prod")
    tamper(ws.ledger, f"DELETE FROM stored_events WHERE rowid = {refusal}")
    code, out = ws.json("audit", "verify")
    # The chain alone cannot tell; the views that had folded it can (a weak witness).
    assert code == 14 and [b["kind"] for b in out["breaks"]] == ["views"]
    code, out = ws.json("audit", "verify", "--registry")
    assert code == 14, out
    assert out["first_break"]["reason"] == "truncated"
    assert "registry anchor floe-prod-index" in out["first_break"]["message"]

"""Two checkouts, one registry: locks, separation of duties, provenance and status hold
across ledgers. Each step is its own `floe` process. With SQLite each checkout has its own
ledger and the registry's records are what they share; with PostgreSQL both share one
ledger (the same stories, serialised by the database)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.records import list_records
from floe_ledger.adapters.registry import RegistrySettings, open_registry
from floe_ledger.domain.model.oci import Manifest
from support.ledger_db import KINDS, fresh_postgres_url
from support.registry_server import RegistryServer
from support.workspace import Workspace, base_env, docker_login, raw_manifest

PASSWORDS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}
ENVIRONMENTS = [{"name": "dev"}, {"name": "staging"},
                {"name": "prod", "authorization": {"allowed_groups": ["release"],
                                                   "separation_of_duties": True}}]


class Checkouts:
    def __init__(self, a: Workspace, b: Workspace, users: dict[str, dict[str, str]]) -> None:
        self.a, self.b, self.users = a, b, users

    def fresh(self, name: str) -> Workspace:
        """Another checkout with its own, empty ledger (SQLite) or the shared one."""
        ws = _checkout(self.a.root.parent / name, self.a.registry_uri)
        if "FLOE_LEDGER_URL" in self.a.env:
            ws.env["FLOE_LEDGER_URL"] = self.a.env["FLOE_LEDGER_URL"]
        return ws


def _checkout(root: Path, uri: str) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root, uri, {"registry": {"uri": uri, "plain_http": True}},
                   env=base_env(root))
    ws.write_manifest(promotion={"environments": ENVIRONMENTS},
                      identity={"groups": {"alice": ["release"], "bob": ["release"]}})
    return ws


@pytest.fixture(params=KINDS)
def two(request: pytest.FixtureRequest, tmp_path: Path, auth_registry_server: RegistryServer,
        repo_name: str) -> Iterator[Checkouts]:
    uri = auth_registry_server.uri(repo_name)
    a, b = _checkout(tmp_path / "a", uri), _checkout(tmp_path / "b", uri)
    users = {u: docker_login(tmp_path, auth_registry_server.host, u, p)
             for u, p in PASSWORDS.items()}
    if request.param == "sqlite":
        yield Checkouts(a, b, users)
        return
    with fresh_postgres_url() as url:
        a.env["FLOE_LEDGER_URL"] = b.env["FLOE_LEDGER_URL"] = url
        assert a.run("ledger", "init").returncode == 0
        yield Checkouts(a, b, users)


def _ok(ws: Workspace, *args: str, env: dict[str, str]) -> dict:
    code, out = ws.json(*args, env=env)
    assert code == 0, out
    return out


def _release(ws: Workspace, version: str, env: dict[str, str], *, to: str = "staging") -> str:
    path = ws.root / "releases" / version / "release.yaml"  # one file name in every release
    path.parent.mkdir(parents=True)
    path.write_text(f"release: {version}\n")
    digest = _ok(ws, "artifact", "push", str(path), version, env=env)["digest"]
    source = None
    for target in ("dev", "staging", "prod"):
        _ok(ws, "platform", "promote", version, "--to", target,
            *(["--from", source] if source else []), env=env)
        if target == to:
            break
        source = target
    return str(digest)


@pytest.mark.requirement("FR-035", "FR-036", "FR-037", "FR-039", "US8")
def test_a_lock_from_one_checkout_refuses_the_other_until_unlocked(two: Checkouts) -> None:
    alice, bob = two.users["alice"], two.users["bob"]
    _release(two.a, "v1.0.0", alice)
    _release(two.a, "v1.1.0", alice)
    # A promotes v1.0.0 to prod (bob, second pair of eyes), locks prod during an incident.
    _ok(two.a, "platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod", env=bob)
    _ok(two.a, "platform", "lock", "--env", "prod", "--reason", "incident 42", env=alice)
    # B never saw the lock in its ledger: it reads the lock record from the registry.
    code, out = two.b.json("platform", "promote", "v1.1.0", "--from", "staging", "--to",
                           "prod", env=bob)
    assert code == 13, out
    assert "incident 42" in out["error"]["message"] and "alice" in out["error"]["hint"]
    code, out = two.b.json("platform", "rollback", "v1.0.0", "--env", "prod", "--reason",
                           "x", env=bob)
    assert code == 13, out
    # B unlocks (authorized); A sees it and may promote again.
    _ok(two.b, "platform", "unlock", "--env", "prod", "--reason", "resolved", env=bob)
    _ok(two.a, "platform", "promote", "v1.1.0", "--from", "staging", "--to", "prod", env=bob)


@pytest.mark.requirement("FR-035", "FR-039")
def test_locking_an_environment_that_runs_nothing_is_seen_by_every_checkout(
        two: Checkouts) -> None:
    alice = two.users["alice"]
    _ok(two.a, "platform", "lock", "--env", "prod", "--reason", "not yet", env=alice)
    code, doc = two.b.json("platform", "status", "--env", "prod", env=alice)
    status = doc["environments"]
    assert code == 0 and status[0]["locked"] is True
    assert status[0]["lock_reason"] == "not yet" and status[0]["locked_by"] == "alice"


@pytest.mark.requirement("FR-049", "US10")
def test_separation_of_duties_holds_across_checkouts(two: Checkouts) -> None:
    alice, bob = two.users["alice"], two.users["bob"]
    _release(two.a, "v1.0.0", alice)  # alice promoted v1.0.0 to staging, from A
    code, out = two.b.json("platform", "promote", "v1.0.0", "--from", "staging", "--to",
                           "prod", env=alice)
    assert code == 12, out
    assert out["error"]["code"] == "separation_of_duties"
    _ok(two.b, "platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod", env=bob)


@pytest.mark.requirement("FR-001", "FR-023", "TAG-06")
def test_a_hand_pushed_environment_tag_is_not_evidence_until_adopted(two: Checkouts) -> None:
    alice, bob = two.users["alice"], two.users["bob"]
    path = two.a.root / "v9.yaml"
    path.write_text("release: v9.0.0\n")
    _ok(two.a, "artifact", "push", str(path), "v9.0.0-staging", env=alice)  # by hand
    code, out = two.a.json("platform", "promote", "v9.0.0", "--from", "staging", "--to",
                           "prod", env=bob)
    assert code == 9, out
    assert out["error"]["code"] == "unexplained_tag"
    assert "v9.0.0-staging" in out["error"]["message"]
    assert "floe ledger adopt v9.0.0 --env staging" in out["error"]["hint"]
    # The audit sees it too: an environment tag nothing floe recorded explains is drift.
    code, audit = two.a.json("audit", "verify", "--registry", env=alice)
    assert code == 14, audit
    assert {"tag": "v9.0.0-staging", "status": "unexplained"}.items() <= \
        next(d for d in audit["drift"] if d["tag"] == "v9.0.0-staging").items()
    assert "v9.0.0-staging" in audit["error"]["message"]
    # Rollback reads the same registry state the same way.
    code, out = two.a.json("platform", "rollback", "v9.0.0", "--env", "staging", "--reason",
                           "x", env=bob)
    assert code == 9, out
    adopted = _ok(two.a, "ledger", "adopt", "v9.0.0", "--env", "staging", "--reason",
                  "promoted by the old pipeline", env=alice)
    assert adopted["tag"] == "v9.0.0-staging" and adopted["record_digest"]
    # The adoption is a record: the other checkout may promote from it too.
    _ok(two.b, "platform", "promote", "v9.0.0", "--from", "staging", "--to", "prod", env=bob)
    for ws in (two.a, two.b):
        _ok(ws, "audit", "verify", "--registry", env=alice)
    code, status = two.a.json("platform", "status", "--env", "staging", "--history", "10",
                              env=alice)
    adoption = [h for h in status["environments"][0]["history"] if h["kind"] == "ADOPTED"]
    assert adoption and adoption[0]["operator"] == "alice"
    assert adoption[0]["reason"] == "promoted by the old pipeline"


@pytest.mark.requirement("FR-031", "FR-013", "US4")
def test_a_fresh_checkout_shows_the_same_status_and_can_roll_back(two: Checkouts) -> None:
    alice, bob = two.users["alice"], two.users["bob"]
    v1 = _release(two.a, "v1.0.0", alice)
    _ok(two.a, "platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod", env=bob)
    _release(two.a, "v1.1.0", alice)
    _ok(two.a, "platform", "promote", "v1.1.0", "--from", "staging", "--to", "prod", env=bob)
    fresh = two.fresh("c")
    code, mine = two.a.json("platform", "status", env=alice)
    assert code == 0
    code, theirs = fresh.json("platform", "status", env=alice)
    assert code == 0
    keys = ("environment", "version", "digest", "promoted_by", "locked")
    assert [{k: r[k] for k in keys} for r in theirs["environments"]] == [
        {k: r[k] for k in keys} for r in mine["environments"]]
    # Each checkout's audit passes and tells the other ledger's records apart from its own.
    for ws in (two.a, fresh):
        audit = _ok(ws, "audit", "verify", "--registry", env=alice)
        origins = {r["origin"] for r in audit["records"]}
        if "FLOE_LEDGER_URL" in ws.env:  # one shared ledger wrote every record
            assert origins == {"this ledger"}
        else:
            assert ("foreign" in origins) == (ws is fresh)
    out = _ok(fresh, "platform", "rollback", "v1.0.0", "--env", "prod", "--reason", "bad 1.1",
              env=bob)
    assert out["artifact_digest"] == v1
    assert raw_manifest(two.a.registry_uri, "latest-prod",
                        ("bob", PASSWORDS["bob"]))[2] == v1


@pytest.mark.requirement("FR-023", "FR-026")
def test_an_edited_record_is_reported_and_not_folded(two: Checkouts) -> None:
    alice, bob = two.users["alice"], two.users["bob"]
    _release(two.a, "v1.0.0", alice, to="dev")
    record = _edit_newest_record(two.a, "v1.0.0", "dev", operator="mallory")
    proc = two.b.run("platform", "status", "--env", "dev", env=bob)
    assert proc.returncode == 0, proc.stderr
    if "FLOE_LEDGER_URL" not in two.b.env:
        # Another ledger's record is verified before it is folded. (A shared ledger never
        # folds its own records: they name its id; 'audit verify --registry' checks them.)
        assert record in proc.stderr and "edited" in proc.stderr
    code, status = two.b.json("platform", "status", "--env", "dev", "--history", "5", env=bob)
    rows = status["environments"]
    assert code == 0 and rows[0]["version"] == "v1.0.0"  # from the untouched record
    assert all(h["operator"] != "mallory" for h in rows[0]["history"])
    assert "mallory" not in json.dumps(two.b.events("RecordObserved"))
    # The audit reports the edited record, whichever ledger wrote it.
    code, audit = two.a.json("audit", "verify", "--registry", env=alice)
    assert code == 14, audit
    assert [r["digest"] for r in audit["invalid_records"]] == [record]


@pytest.mark.requirement("US4", "ENT-18", "FR-031")
def test_history_is_newest_first_when_another_ledgers_records_are_folded_late(
        two: Checkouts) -> None:
    """B folds A's records when it first reads a tag leading to them, which may be after B's
    own later promotion: B's history still lists what happened newest first."""
    alice, bob = two.users["alice"], two.users["bob"]
    for version in ("v1.0.0", "v1.1.0"):
        _release(two.a, version, alice, to="dev")
    _release(two.b, "v1.2.0", bob, to="dev")  # B folds v1.1.0's record, not v1.0.0's
    _ok(two.a, "platform", "rollback", "v1.0.0", "--env", "dev", "--reason", "bad 1.2",
        "--yes", env=alice)
    # latest-dev now leads B to v1.0.0's records: its promotion (the oldest) and the rollback.
    code, doc = two.b.json("platform", "status", "--env", "dev", "--history", "2", env=bob)
    assert code == 0, doc
    assert [(h["kind"], h["version"], h["operator"]) for h in doc["environments"][0][
        "history"]] == [("ROLLBACK", "v1.0.0", "alice"), ("PROMOTED", "v1.2.0", "bob")]
    code, doc = two.b.json("platform", "status", "--env", "dev", "--history", "10", env=bob)
    history = doc["environments"][0]["history"]
    assert [h["version"] for h in history] == ["v1.0.0", "v1.2.0", "v1.1.0", "v1.0.0"]
    assert [h["at"] for h in history] == sorted((h["at"] for h in history), reverse=True)


def _edit_newest_record(ws: Workspace, version: str, env: str, *, operator: str) -> str:
    """Rewrite the record of ``version``'s promotion with another operator in its content
    (its annotations unchanged) and point the referrers at the edited copy: what someone
    with push rights could do. Returns the edited record's digest."""
    registry = open_registry(RegistrySettings(ws.registry_uri, plain_http=True,
                                              username="alice", password=PASSWORDS["alice"]),
                             base_dir=ws.root, env=ws.env)
    subject = registry.resolve(f"{version}-{env}")
    assert subject is not None
    original = next(r for r in list_records(registry, subject.digest) if r.kind == "promotion")
    doc = json.loads(registry.get_manifest(original.digest).data)
    content = json.loads(registry.get_blob(doc["layers"][0]["digest"]))
    content["operator"] = operator
    layer = json.dumps(content).encode()
    doc["layers"][0]["digest"] = registry.put_blob(layer, doc["layers"][0]["mediaType"])
    doc["layers"][0]["size"] = len(layer)
    data = json.dumps(doc).encode()
    edited = Manifest("sha256:" + hashlib.sha256(data).hexdigest(), doc["mediaType"], data)
    registry.attach_referrer(subject.digest, edited, doc["artifactType"])
    registry.close()
    return edited.digest

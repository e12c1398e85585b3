"""Issue 14 item 9: ``floe gc --keep N [--dry-run]`` as a user runs it.

- an OCI image layout (tags are index.json entries: a tag can go alone), on SQLite and
  PostgreSQL: what goes, what stays (running, rollback target, locked environment), the
  ledger's TagsCollected event, an audit with no drift, a second run that does nothing;
- the fake registry (the OCI spec's tag deletion, as distribution 3 and zot; the referrers
  API) with two checkouts: the other ledger's audit does not call the tags drift, because
  the collection record beside each version says who deleted them;
- docker-registry 2.8, which deletes manifests by digest only: gc refuses before deleting
  anything (exit 2, the tag and why), and its dry run still lists what would go.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry, push_files
from support.fake_registry import FakeRegistry
from support.ledger_db import KINDS, fresh_postgres_url
from support.workspace import Workspace, base_env, list_tags

pytestmark = pytest.mark.requirement("ADJ-07", "FR-031", "FR-013")

VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0")


def _checkout(root: Path, uri: str) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    plain = {"plain_http": True} if uri.startswith("oci://") else {}
    ws = Workspace(root, uri, {"registry": {"uri": uri, **plain}}, env=base_env(root))
    ws.write_manifest()
    return ws


def _publish(ws: Workspace, versions: tuple[str, ...] = VERSIONS) -> None:
    """The releases, as a build pushes them (setup, not under test)."""
    registry = open_registry(RegistrySettings(ws.registry_uri, plain_http=True),
                             base_dir=ws.root, env=ws.env)
    for version in versions:
        path = ws.root / version / "release.yaml"  # one file name, as a real artifact
        path.parent.mkdir()
        path.write_text(f"release: {version}\n")
        push_files(registry, [path], version)
    registry.close()


def _ok(ws: Workspace, *args: str) -> dict:
    code, out = ws.json(*args)
    assert code == 0, out
    return out


def _layout_tags(ws: Workspace) -> set[str]:
    index = json.loads((ws.root / "oci" / "index.json").read_text())
    return {e["annotations"]["org.opencontainers.image.ref.name"] for e in index["manifests"]}


@pytest.fixture(params=KINDS)
def layout(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    ws = _checkout(tmp_path, "oci-layout:./oci")
    if request.param == "sqlite":
        yield ws
        return
    with fresh_postgres_url() as url:
        ws.env["FLOE_LEDGER_URL"] = url
        assert ws.run("ledger", "init").returncode == 0
        yield ws


def test_gc_deletes_old_environment_tags_keeps_what_runs_and_records_it(
        layout: Workspace) -> None:
    ws = layout
    _publish(ws)
    for version in VERSIONS:
        _ok(ws, "platform", "promote", version, "--to", "dev")
    for version in VERSIONS[:2]:
        _ok(ws, "platform", "promote", version, "--from", "dev", "--to", "staging")
    # dev ran v1.0, v1.1, v1.2, v1.3, then v1.1 again; staging is locked.
    _ok(ws, "platform", "rollback", "v1.1.0", "--env", "dev", "--reason", "bad 1.3")
    _ok(ws, "platform", "lock", "--env", "staging", "--reason", "release week")
    before, events = _layout_tags(ws), ws.event_kinds()

    plan = _ok(ws, "gc", "--keep", "1", "--dry-run")
    assert plan["dry_run"] is True and plan["deleted"] == []
    assert plan["would_delete"] == ["v1.0.0-dev", "v1.2.0-dev"]
    why = {t["tag"]: t["reason"] for t in plan["tags"]}
    assert why["v1.1.0-dev"] == why["v1.1.0-dev-rollback-1"] == "runs in dev"
    assert why["v1.3.0-dev"] == "what a rollback of dev goes back to"
    assert why["v1.0.0-staging"] == why["v1.1.0-staging"] == \
        "staging is locked (release week, by ci-runner)"
    assert _layout_tags(ws) == before and "TagsCollected" not in ws.event_kinds()

    done = _ok(ws, "gc", "--keep", "1")
    assert done["deleted"] == ["v1.0.0-dev", "v1.2.0-dev"] and len(done["record_digests"]) == 2
    assert _layout_tags(ws) == before - {"v1.0.0-dev", "v1.2.0-dev"}
    assert set(VERSIONS) | {"latest-dev", "latest-staging"} <= _layout_tags(ws)
    assert ws.event_kinds()[len(events):] == ["TagsCollected"]
    [collected] = ws.events("TagsCollected")
    assert sorted(collected["deleted"]) == ["v1.0.0-dev", "v1.2.0-dev"]
    assert collected["keep"] == 1 and collected["operator"] == "ci-runner"

    audit = _ok(ws, "audit", "verify", "--registry")
    assert audit["drift"] == []  # the ledger recorded their deletion
    again = _ok(ws, "gc", "--keep", "1")
    assert again["deleted"] == [] and ws.event_kinds().count("TagsCollected") == 1
    # What a rollback of dev goes back to still has everything its analysis reads.
    check = _ok(ws, "platform", "rollback", "v1.3.0", "--env", "dev", "--dry-run")
    assert check["impact_analysis"]["current_version"] == "v1.1.0"


@pytest.fixture
def fake_two(tmp_path: Path) -> Iterator[tuple[Workspace, Workspace, FakeRegistry]]:
    with FakeRegistry() as fake:
        uri = fake.uri("acme/app")
        yield _checkout(tmp_path / "a", uri), _checkout(tmp_path / "b", uri), fake


def test_another_ledgers_audit_does_not_call_collected_tags_drift(fake_two) -> None:
    a, b, fake = fake_two
    _publish(a, VERSIONS[:3])
    _ok(b, "platform", "promote", VERSIONS[0], "--to", "dev")  # b wrote v1.0.0-dev
    for version in VERSIONS[1:3]:
        _ok(a, "platform", "promote", version, "--to", "dev")
    done = _ok(a, "gc", "--keep", "1")
    assert done["deleted"] == ["v1.0.0-dev"]  # a folded b's promotion before planning
    assert "v1.0.0-dev" not in fake.tags["acme/app"]
    assert [m for m, p in fake.requests if m == "DELETE"] == ["DELETE"]  # one tag, no digest
    # b's ledger expects the tag it wrote; a's collection record (a referrer of v1.0.0)
    # says a deleted it: not drift.
    audit = _ok(b, "audit", "verify", "--registry")
    assert audit["drift"] == []
    assert any(r["kind"] == "collection" and r["origin"] == "foreign"
               for r in audit["records"])


def test_a_registry_that_deletes_manifests_only_by_digest_is_refused(
        workspace: Workspace) -> None:
    ws = workspace
    _publish(ws, VERSIONS[:3])
    for version in VERSIONS[:3]:
        _ok(ws, "platform", "promote", version, "--to", "dev")
    before, events = list_tags(ws.registry_uri), ws.event_kinds()
    plan = _ok(ws, "gc", "--keep", "1", "--dry-run")
    assert plan["would_delete"] == ["v1.0.0-dev"]
    code, out = ws.json("gc", "--keep", "1")
    assert code == 2, out
    assert out["error"]["code"] == "tag_delete_unsupported"
    assert "cannot delete tag v1.0.0-dev on its own" in out["error"]["message"]
    assert "DIGEST_INVALID" in out["error"]["message"]
    assert "never does that" in out["error"]["hint"]
    assert list_tags(ws.registry_uri) == before  # nothing deleted, the manifest untouched
    assert ws.event_kinds() == events


def test_gc_help_shows_examples(tmp_path: Path) -> None:
    ws = _checkout(tmp_path, "oci-layout:./oci")
    proc = ws.run("gc", "--help")
    assert proc.returncode == 0
    assert "floe gc --keep 5 --dry-run" in proc.stdout and "--keep N" in proc.stdout

"""Issue 14 item 8: what a tag-watching tool (Renovate, Flux, Argo CD Image Updater) sees
after a busy week: no tag per record, per operation or per ledger; and what a registry
with tag-immutability rules gets when floe must move a tag.

Two checkouts, each with its own SQLite ledger (as CI runners without a shared ledger), run
20 promotions, 3 rollbacks and 2 locks (and an unlock) as real ``floe`` processes against
the real docker-registry 2.8 (no referrers API: records are found through the
``sha256-<hex>`` fallback indexes). The repository then lists only release, environment,
``latest-<env>`` and rollback tags, the fallback indexes, a cosign ``.sig`` tag and at most
one ``floe-<env>-index`` per environment; each checkout still finds the other's records (its
lock, its promotions) and ``floe audit verify --registry`` passes in both.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry, push_files
from support.fake_registry import FakeRegistry
from support.registry_server import RegistryServer
from support.tables import add_row
from support.workspace import Workspace, all_tags, base_env, make_workspace

pytestmark = pytest.mark.requirement("FR-023", "FR-026", "FR-035", "TAG-02", "TAG-03", "TAG-04")

ENVS = ("dev", "staging", "prod")
VERSIONS = [f"v1.{n}.0" for n in range(7)]
VERSION = r"v\d+\.\d+\.\d+"
KINDS = {
    "release": re.compile(rf"^{VERSION}$"),
    "environment": re.compile(rf"^{VERSION}-(?:{'|'.join(ENVS)})$"),
    "rollback": re.compile(rf"^{VERSION}-(?:{'|'.join(ENVS)})-rollback-\d+$"),
    "latest-<env>": re.compile(rf"^latest-(?:{'|'.join(ENVS)})$"),
    "referrers fallback sha256-<hex>": re.compile(r"^sha256-[0-9a-f]{64}$"),
    "cosign sha256-<hex>.sig": re.compile(r"^sha256-[0-9a-f]{64}\.sig$"),
    "floe-<env>-index": re.compile(rf"^floe-(?:{'|'.join(ENVS)})-index$"),
}


def _ok(ws: Workspace, *args: str) -> None:
    proc = ws.run(*args)
    assert proc.returncode == 0, f"floe {' '.join(args)}: {proc.stderr}"


def _publish(ws: Workspace, tmp_path: Path) -> None:
    """The releases, as a build pushes them (setup, not under test)."""
    registry = open_registry(RegistrySettings(ws.registry_uri, plain_http=True),
                             base_dir=ws.root, env=ws.env)
    for version in VERSIONS:
        path = tmp_path / version / "release.yaml"  # one file name, as a real artifact
        path.parent.mkdir()
        path.write_text(f"release: {version}\n")
        push_files(registry, [path], version)
    registry.close()


def kind_of(tag: str) -> str | None:
    return next((kind for kind, pattern in KINDS.items() if pattern.match(tag)), None)


def test_a_busy_repository_lists_no_tag_per_operation_or_ledger(
        tmp_path: Path, registry_server: RegistryServer, repo_name: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_workspace(tmp_path / "a", registry_server, repo_name)
    b = make_workspace(tmp_path / "b", registry_server, repo_name)
    _publish(a, tmp_path)
    _ok(a, "artifact", "keygen", str(tmp_path / "cosign"))
    _ok(a, "artifact", "sign", VERSIONS[0], "--key", str(tmp_path / "cosign.key"))
    promotions = 0
    for source, target, versions in ((None, "dev", VERSIONS), ("dev", "staging", VERSIONS),
                                     ("staging", "prod", VERSIONS[:6])):
        for n, version in enumerate(versions):
            ws = a if n % 2 == 0 else b  # every other promotion from the other checkout
            _ok(ws, "platform", "promote", version, "--to", target,
                *(["--from", source] if source else []))
            promotions += 1
    _ok(a, "platform", "rollback", "v1.4.0", "--env", "prod", "--reason", "bad 1.5")
    _ok(b, "platform", "rollback", "v1.2.0", "--env", "dev", "--reason", "bad dev")
    _ok(a, "platform", "rollback", "v1.5.0", "--env", "staging", "--reason", "bad 1.6")
    _ok(a, "platform", "lock", "--env", "prod", "--reason", "freeze")
    _ok(b, "platform", "unlock", "--env", "prod", "--reason", "thaw")  # b reads a's lock
    _ok(b, "platform", "lock", "--env", "staging", "--reason", "audit week")
    assert promotions == 20

    tags = all_tags(a.registry_uri)
    kinds = {tag: kind_of(tag) for tag in tags}
    assert [t for t, k in kinds.items() if k is None] == [], "tags no watcher should see"
    counts = Counter(kinds.values())
    assert counts["floe-<env>-index"] <= len(ENVS)
    assert counts["rollback"] == 3 and counts["cosign sha256-<hex>.sig"] == 1
    assert counts["environment"] == 20 and counts["latest-<env>"] == 3
    assert not any(t.startswith(("floe-record-", "floe-head-", "floe-lock-")) for t in tags)
    for kind in KINDS:
        add_row("Tags after 20 promotions, 3 rollbacks, 2 locks (2 ledgers)", kind,
                {"count": counts.get(kind, 0)})

    # Each checkout still finds what the other recorded: b's lock of staging in a, and
    # every record (promotions of both, found through the fallback indexes) in the audits.
    code, doc = a.json("platform", "status", "--env", "staging")
    status = doc["environments"]
    assert code == 0 and status[0]["locked"] and status[0]["locked_by"] == "ci-runner"
    assert status[0]["lock_reason"] == "audit week" and status[0]["version"] == "v1.5.0"
    for ws in (a, b):
        code, audit = ws.json("audit", "verify", "--registry")
        assert code == 0, audit
        assert audit["drift"] == []
        origins = Counter(r["origin"] for r in audit["records"])
        assert origins["this ledger"] >= 10 and origins["foreign"] >= 10
    assert all_tags(a.registry_uri) == tags  # reading wrote no tag


@pytest.mark.requirement("EXIT-10", "TAG-03", "NFR-004")
@pytest.mark.parametrize(("status", "code", "message"), [
    (400, "TAG_INVALID", "The image tag '{tag}' already exists in the 'acme/app' repository "
     "and cannot be overwritten because the repository is immutable."),  # ECR
    (412, "PRECONDITION", "Failed to process request due to '{tag}' configured as "
     "immutable."),  # Harbor
])
def test_a_registry_that_refuses_to_move_a_tag_names_it_and_the_way_out(
        tmp_path: Path, status: int, code: str, message: str) -> None:
    with FakeRegistry() as fake:
        uri = fake.uri("acme/app")
        ws = Workspace(tmp_path, uri, {"registry": {"uri": uri, "plain_http": True}},
                       env=base_env(tmp_path))
        ws.write_manifest()
        ws.push("v1.0.0")
        ws.push("v1.1.0")
        _ok(ws, "platform", "promote", "v1.0.0", "--to", "dev")
        # An immutability rule on every tag (as ECR's IMMUTABLE or a Harbor rule for **):
        # creating a tag is allowed, moving one is not.
        fake.protect_tags(r".*", status, code, message)
        rc, out = ws.json("platform", "promote", "v1.1.0", "--to", "dev")
        assert rc == 10, out
        error = out["error"]
        assert error["code"] == "tag_immutable" and error["details"]["tag"] == "latest-dev"
        assert "refused to move tag latest-dev" in error["message"]
        assert "immutable" in error["message"]
        assert "exclude those from the registry's tag-immutability rule" in error["hint"]
        assert fake.tags["acme/app"]["v1.1.0-dev"]  # the new immutable tag was written
        # The documented way out: exempt floe's moving tags, run the same command again.
        fake.protect_tags(r"v\d+\.\d+\.\d+(-[a-z0-9]+)?", status, code, message)
        rc, out = ws.json("platform", "promote", "v1.1.0", "--to", "dev")
        assert rc == 0, out
        assert out["resumed"] is True
        assert fake.tags["acme/app"]["latest-dev"] == out["artifact_digest"]

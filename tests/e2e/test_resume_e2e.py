"""NFR-004, TXN-03..05: a promotion interrupted between its two tag writes is finished by
running the same command again, with no duplicate events or tags."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from support.fake_registry import FakeRegistry
from support.workspace import FLOE, Workspace, workspace_on


@pytest.fixture
def fake_ws(tmp_path):
    with FakeRegistry() as fake:
        ws = workspace_on(tmp_path, fake.uri("acme/app"))
        ws.push("v1.0.0")
        assert ws.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
        yield ws, fake


def promotion_events(ws: Workspace) -> list[str]:
    kinds = ws.event_kinds()
    start = max(i for i, k in enumerate(kinds) if k == "PromotionRequested")
    return kinds[start:]


@pytest.mark.requirement("NFR-004", "TXN-03", "TXN-05")
def test_a_registry_failing_the_second_put_is_finished_by_a_rerun(fake_ws) -> None:
    ws, fake = fake_ws
    fake.fail_tag_puts("latest-staging", 3)  # every retry of the second PUT fails
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 5, out
    assert "v1.0.0-staging" in fake.tags["acme/app"]
    assert "latest-staging" not in fake.tags["acme/app"]
    code, status = ws.json("platform", "status", "--env", "staging")
    assert status["environments"][0]["open_promotion"] == "v1.0.0"
    # The same command again completes it.
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 0, out
    assert out["resumed"] is True
    assert fake.tags["acme/app"]["latest-staging"] == out["artifact_digest"]
    events = promotion_events(ws)
    assert events.count("PromotionRequested") == 1
    assert events.count("TagWritten") == 2
    assert events.count("PromotionCompleted") == 1
    assert events.count("SignatureVerified") == 1  # not re-verified on resume
    code, status = ws.json("platform", "status", "--env", "staging")
    row = status["environments"][0]
    assert row["version"] == "v1.0.0" and row["open_promotion"] is None


@pytest.mark.requirement("NFR-004", "TXN-03")
def test_a_process_killed_between_its_two_tag_writes_is_finished_by_a_rerun(fake_ws) -> None:
    ws, fake = fake_ws
    fake.delay_tag_puts("latest-staging", 30)
    proc = subprocess.Popen([FLOE, "platform", "promote", "v1.0.0", "--from", "dev", "--to",
                             "staging"], cwd=ws.root, env=ws.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 30
    while "v1.0.0-staging" not in fake.tags.get("acme/app", {}):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)  # the second PUT has started
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fake.delay_tag_puts("latest-staging", 0)
    # both TagWritten are saved with the completion (docs/crash-points.md): the ledger
    # shows an open promotion, never more than the registry holds
    assert "TagWritten" not in promotion_events(ws)
    assert "v1.0.0-staging" in fake.tags["acme/app"]
    assert "PromotionCompleted" not in promotion_events(ws)
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 0, out
    assert out["resumed"] is True
    events = promotion_events(ws)
    assert events.count("PromotionRequested") == 1
    assert events.count("TagWritten") == 2
    assert events.count("PromotionCompleted") == 1
    assert json.loads(json.dumps(fake.tags["acme/app"]))["latest-staging"] == out["artifact_digest"]


@pytest.mark.requirement("NFR-004", "FR-035", "FR-046")
def test_a_resume_passes_the_same_lock_and_authorization_checks(fake_ws) -> None:
    """Security review §1: an interrupted promotion resumed by someone else, or into an
    environment locked since, used to skip every entry check."""
    ws, fake = fake_ws
    ws.write_manifest(
        promotion={"environments": [{"name": "dev"}, {"name": "staging", "authorization": {
            "require_authenticated": False, "allowed_groups": ["release"]}}, {"name": "prod"}]},
        identity={"groups": {"ci-runner": ["release"]}})
    fake.fail_tag_puts("latest-staging", 3)
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 5, out  # left open, its owner gone: resumable
    fake.fail_tag_puts("latest-staging", 0)
    # Someone outside the allowed groups re-runs it: refused, and the refusal is recorded.
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging",
                        env={"USER": "mallory"})
    assert code == 12, out
    assert ws.events("PromotionRejected")[-1]["operator"] == "mallory"
    # Locked since: the owner's own re-run is refused too.
    assert ws.run("platform", "lock", "--env", "staging", "--reason", "freeze").returncode == 0
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 13, out
    assert "PromotionCompleted" not in promotion_events(ws)
    assert "latest-staging" not in fake.tags["acme/app"]
    # Unlocked: the allowed operator resumes and completes it.
    assert ws.run("platform", "unlock", "--env", "staging", "--reason", "ok").returncode == 0
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    assert code == 0 and out["resumed"] is True, out

"""``floe serve`` over real HTTP (httpx against the real server): read-only, loopback unless
--allow-remote, 404s, and hostile text escaped (UI-01, UI-07, UI-08)."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from support.dashboard import HOSTILE, free_port, ok, serving
from support.ledger_tamper import checkpoint_keys, rowid_of, tamper
from support.workspace import FLOE


def small_history(ws) -> None:
    ws.push("v1.0.0")
    ok(ws, "platform", "promote", "v1.0.0", "--to", "dev")
    ok(ws, "platform", "lock", "--env", "dev", "--reason", HOSTILE)


PAGES = ["/", "/timeline", "/audit", "/versions/v1.0.0", "/metrics", "/api/head",
         "/audit/events/1", "/static/floe.css", "/static/live.js"]


@pytest.mark.requirement("UI-07")
def test_every_page_answers_get_and_refuses_every_write_method(sqlite_workspace) -> None:
    ws = sqlite_workspace
    small_history(ws)
    before = ws.event_kinds()
    with serving(ws) as base, httpx.Client(base_url=base, timeout=30) as http:
        for path in PAGES:
            assert http.get(path).status_code == 200, path
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                answer = http.request(method, path, content=b"x")
                assert answer.status_code == 405, (method, path, answer.status_code)
        assert http.head("/").status_code == 200
    assert ws.event_kinds() == before  # reading every page wrote nothing to the ledger


@pytest.mark.requirement("UI-02", "UI-08")
def test_unknown_versions_events_and_pages_are_404(sqlite_workspace) -> None:
    ws = sqlite_workspace
    small_history(ws)
    with serving(ws) as base, httpx.Client(base_url=base, timeout=30) as http:
        for path in ("/versions/v9.9.9", "/audit/events/99999", "/audit/events/0", "/nowhere"):
            answer = http.get(path)
            assert answer.status_code == 404, path
            assert "Not found" in answer.text and 'lang="en"' in answer.text
        assert "v9.9.9" in http.get("/versions/v9.9.9").text
        assert http.get("/timeline", params={"since": "yesterday"}).status_code == 400
        assert http.get("/metrics", params={"days": "-3"}).status_code == 400


@pytest.mark.requirement("UI-08")
def test_hostile_text_from_the_ledger_is_escaped_on_every_page(sqlite_workspace) -> None:
    ws = sqlite_workspace
    small_history(ws)
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; freeze &amp; &lt;b&gt;hold&lt;/b&gt;"
    with serving(ws) as base, httpx.Client(base_url=base, timeout=30) as http:
        for path in ("/", "/timeline"):
            page = http.get(path).text
            assert "<script>alert" not in page and "<b>hold" not in page, path
            assert escaped in page, path
        timeline = http.get("/timeline", params={"env": "dev"}).text
        assert escaped in timeline
        events = http.get("/api/head").json()["head"]
        found = [http.get(f"/audit/events/{n}").text for n in range(1, events + 1)]
        lock_page = next(p for p in found if "EnvironmentLocked" in p)
        assert "<script>alert" not in lock_page and "&lt;script&gt;" in lock_page


@pytest.mark.requirement("UI-01")
def test_a_non_loopback_host_needs_allow_remote_and_warns(sqlite_workspace) -> None:
    ws = sqlite_workspace
    port = free_port()
    refused = ws.run("serve", "--host", "0.0.0.0", "--port", str(port), timeout=30)
    assert refused.returncode == 2
    assert "--allow-remote" in refused.stderr and "not a loopback address" in refused.stderr
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/api/head", timeout=2)
    with serving(ws, "--host", "0.0.0.0", "--allow-remote") as base:
        assert httpx.get(base + "/api/head", timeout=5).json() == {"head": 0}
    assert "anyone who can reach" in (ws.root / "serve.log").read_text()


@pytest.mark.requirement("UI-01")
def test_json_output_names_the_url_once_listening(sqlite_workspace) -> None:
    ws = sqlite_workspace
    proc = subprocess.Popen([FLOE, "serve", "--port", "0", "-o", "json"], cwd=ws.root,
                            env=ws.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]
        while lines[-1] not in ("}\n", ""):  # one pretty-printed document, then it serves
            lines.append(proc.stdout.readline())
        doc = json.loads("".join(lines))
        assert doc["success"] is True and doc["read_only"] is True
        assert doc["url"].startswith("http://127.0.0.1:") and doc["port"] > 0
        assert httpx.get(doc["url"] + "api/head", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.requirement("UI-05")
def test_the_head_moves_when_another_process_promotes(sqlite_workspace) -> None:
    ws = sqlite_workspace
    small_history(ws)
    with serving(ws) as base:
        first = httpx.get(base + "/api/head", timeout=5).json()["head"]
        ws.push("v1.1.0")
        ok(ws, "platform", "unlock", "--env", "dev", "--reason", "thaw")
        ok(ws, "platform", "promote", "v1.1.0", "--to", "dev")
        assert httpx.get(base + "/api/head", timeout=5).json()["head"] > first
        assert "v1.1.0" in httpx.get(base + "/", timeout=10).text


@pytest.mark.requirement("UI-06", "FR-026")
def test_the_audit_page_shows_the_checkpoint_and_verify_now_finds_an_edit(
        sqlite_workspace) -> None:
    ws = sqlite_workspace
    small_history(ws)
    private, public = checkpoint_keys(ws.root)
    ok(ws, "audit", "checkpoint", "--key", str(private), "-O", "cp.json")
    with serving(ws, "--checkpoint", "cp.json", "--public-key", str(public)) as base, \
            httpx.Client(base_url=base, timeout=60) as http:
        page = http.get("/audit").text
        assert '<span id="verdict" class="ok">verified</span>' in page
        assert "Signed checkpoint cp.json" in page and "covers 1 stream(s)" in page
        # someone edits the lock's reason in the ledger: the last verify is shown until
        # "verify now" runs the same check again, which names the edited event
        lock = rowid_of(ws.ledger, "EnvironmentLocked", "freeze")
        tamper(ws.ledger, "UPDATE stored_events SET state = replace(state, 'freeze', 'thaw!')"
               f" WHERE rowid = {lock}")
        assert '<span id="verdict" class="ok">verified</span>' in http.get("/audit").text
        again = http.get("/audit", params={"verify": "now"}).text
        assert '<span id="verdict" class="bad">FAILED</span>' in again
        # the lock is the newest event: no later link names its hash, the checkpoint does
        assert "ledger integrity broken" in again and "[edited]" in again
        assert f"v{lock} " in again and "checkpoint of" in again  # one stream: v = position


@pytest.mark.requirement("UI-04")
def test_the_timeline_filters_by_operator_and_time(sqlite_workspace) -> None:
    ws = sqlite_workspace
    small_history(ws)
    with serving(ws) as base, httpx.Client(base_url=base, timeout=30) as http:
        def kinds(**params: str) -> list[str]:
            page = http.get("/timeline", params=params).text
            return [k for k in ("PromotionCompleted", "EnvironmentLocked")
                    if f'<td data-label="Event">{k}</td>' in page]

        assert kinds() == ["PromotionCompleted", "EnvironmentLocked"]
        assert kinds(operator="ci-runner", since="2000-01-01T00:00") == [
            "PromotionCompleted", "EnvironmentLocked"]
        assert kinds(operator="someone-else") == []
        assert kinds(until="2000-01-01T00:00:00") == []
        assert "No event matches." in http.get("/timeline", params={"env": "prod"}).text

"""One cell of the fault matrix: a promotion run through the fault proxy, then checked.

    with fault_rig(tmp_path, registry_server, replica_server, repo, "env tag PUT",
                   keys) as rig:
        text = run_cell(rig, "500", "env tag PUT")     # asserts; returns the table cell

The rig puts a :class:`FaultProxy` in front of the real registry (and, for the replica and
webhook columns, in front of the replica registry or the webhook receiver), pushes the
release with the stdlib, and signs it for the signature column. :func:`run_cell` runs
``floe platform promote`` with the fault, checks the exit code, that the ledger and the
registry agree (or the ledger shows exactly what is unfinished, and ``status`` says so),
then re-runs the same command with the fault removed and checks that it completes with no
duplicate events, tags or records.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.fault_matrix import (
    DELAY_S,
    ENV,
    ENV_TAG,
    FAULTS,
    HOOK_PATH,
    LATEST_TAG,
    STEPS,
    STOPPED_AT,
    TIMEOUT_S,
    VERSION,
    Step,
    all_tags,
    expected_exit,
    promotion_records,
    push_release,
    tag_digest,
)
from support.fault_proxy import FaultProxy, Rule
from support.registry_server import RegistryServer
from support.webhook_server import WebhookServer
from support.workspace import FLOE, Workspace, base_env

PROMOTE = ("platform", "promote", VERSION, "--to", ENV)


@dataclass
class Rig:
    ws: Workspace
    server: RegistryServer
    repo: str
    digest: str
    proxies: dict[str, FaultProxy]  # primary, and replica or webhook
    replica: RegistryServer | None = None
    hooks: WebhookServer | None = None


@contextmanager
def fault_rig(root: Path, server: RegistryServer, replica: RegistryServer, repo: str,
              step: str, keys: Path, ledger_url: str | None = None) -> Iterator[Rig]:
    """A workspace promoting through proxies; what ``step`` needs is configured."""
    with ExitStack() as stack:
        proxies = {"primary": stack.enter_context(FaultProxy(server.host, delay=DELAY_S))}
        registry: dict[str, Any] = {"uri": proxies["primary"].uri(repo), "plain_http": True,
                                    "timeout_seconds": TIMEOUT_S}
        artifacts: dict[str, Any] = {"registry": registry}
        rig = Rig(Workspace(root, registry["uri"], artifacts, env=base_env(root)), server,
                  repo, "", proxies)
        if ledger_url:
            rig.ws.env["FLOE_LEDGER_URL"] = ledger_url
        where = STEPS[step].where
        if where == "replica":
            rig.replica = replica
            proxies["replica"] = stack.enter_context(FaultProxy(replica.host, delay=DELAY_S))
            artifacts["replicas"] = [{"uri": proxies["replica"].uri(repo), "plain_http": True}]
        if where == "webhook":
            rig.hooks = stack.enter_context(WebhookServer())
            proxies["webhook"] = stack.enter_context(
                FaultProxy(f"127.0.0.1:{rig.hooks.port}", delay=DELAY_S))
            artifacts["promotion"] = {"webhooks": [{
                "url": proxies["webhook"].url(HOOK_PATH), "timeout_seconds": TIMEOUT_S,
                "retry_count": 1}]}
        if step == "signature fetch":
            shutil.copytree(keys, root / "keys")
            registry["verification"] = {"enforcement": "enforce",
                                        "public_keys": ["keys/trusted.pub"]}
        rig.ws.write_manifest()
        if ledger_url:
            _ok(rig.ws.run("ledger", "init"))
        rig.digest = push_release(server.host, repo, f"release of {repo}\n".encode())
        if step == "signature fetch":
            _ok(rig.ws.run("artifact", "sign", VERSION, "--key", "keys/trusted.key"))
        yield rig


def _ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _json(proc: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON (exit {proc.returncode}):\n{proc.stdout}\n"
                             f"--- stderr ---\n{proc.stderr}") from None


# ---- the cell -----------------------------------------------------------------------------

def run_cell(rig: Rig, fault: str, step: str, target: Step | None = None) -> str:
    """Run one cell (asserting as it goes); returns its text for the table. ``target``
    replaces the step's request (e.g. a later one of the same kind)."""
    spec, target = FAULTS[fault], target or STEPS[step]
    proxy = rig.proxies[target.where]
    rule = proxy.fault(spec.proxy, method=target.method, path=target.path, nth=target.nth,
                       times=spec.times)
    started = time.monotonic()
    proc = _promote_killed(rig, proxy) if fault == "SIGKILL" else rig.ws.run(
        *PROMOTE, "-o", "json", timeout=90)
    elapsed = time.monotonic() - started
    for each in rig.proxies.values():
        each.clear()
    _check_exit(rig, proc, fault, step, target, rule, elapsed)
    state = _check_state(rig, step, fault)
    recovery = _rerun(rig, state, step)
    _check_complete(rig, step)
    shown = "killed" if proc.returncode < 0 else f"exit {proc.returncode}"
    waited = f" (took {elapsed:.1f} s)" if fault == "429" else ""
    return f"{shown} ✓{waited} / {recovery}"


def _promote_killed(rig: Rig, proxy: FaultProxy) -> subprocess.CompletedProcess[str]:
    """Start the promotion, SIGKILL it while the proxy holds the matching request."""
    ws = rig.ws
    proc = subprocess.Popen([FLOE, *PROMOTE, "-o", "json"], cwd=ws.root, env=ws.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        held = proxy.wait_held(60)
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert held, f"the request was never held:\n{out}\n{err}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _check_exit(rig: Rig, proc: subprocess.CompletedProcess[str], fault: str, step: str,
                target: Step, rule: Rule, elapsed: float) -> None:
    expected = expected_exit(fault, step)
    context = f"{fault} at {step}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert rule.applied >= 1, f"the fault never hit its request: {context}"
    assert "Traceback" not in proc.stderr, context
    if expected is None:
        assert proc.returncode == -signal.SIGKILL, context
        return
    assert proc.returncode == expected, context
    out = _json(proc)
    if expected == 5:
        assert out["error"]["code"] == "registry_unavailable", context
    if FAULTS[fault].times == 1:  # transient: retried within the bounds, and waited
        seen = rig.proxies[target.where].count(method=target.method, path=target.path)
        assert seen >= target.nth + 1, f"not retried: {context}"
        least = 1.0 if fault == "429" else TIMEOUT_S  # Retry-After: 1; the client's timeout
        assert elapsed >= least, f"gave up after {elapsed:.2f} s: {context}"
        assert {r["status"] for r in out["registries"]} == {"ok"}, context  # replica too
        assert "not delivered" not in proc.stderr, context  # the webhook too
    elif step == "replica write":  # FR-030: the promotion stands, the replica is behind
        assert [r["status"] for r in out["registries"]] == ["ok", "failed"], context
        assert any("floe platform sync" in w for w in out["warnings"]), context
    elif step == "webhook":  # FR-043: a warning on stderr, the delivery stays pending
        assert "retry with 'floe webhooks deliver'" in proc.stderr, context


def _check_state(rig: Rig, step: str, fault: str) -> str:
    """The ledger and the registry agree, or the ledger shows what is unfinished and
    ``status`` says so: ``nothing`` (decided nothing), ``open`` or ``completed``."""
    ws, host, repo = rig.ws, rig.server.host, rig.repo
    kinds = ws.event_kinds()
    status = _json(ws.run("platform", "status", "--env", ENV, "-o", "json"))["environments"][0]
    in_registry = {t: tag_digest(host, repo, t) for t in (ENV_TAG, LATEST_TAG)}
    assert set(in_registry.values()) <= {None, rig.digest}, in_registry  # never a wrong digest
    for event in ws.events("TagWritten"):  # the ledger never claims more than the registry
        assert in_registry[event["tag"]] == rig.digest, (event, in_registry)
    assert "PromotionRejected" not in kinds, kinds  # an outage is not a refusal
    if "PromotionCompleted" in kinds:
        assert (status["version"], status["open_promotion"]) == (VERSION, None), status
        assert None not in in_registry.values(), in_registry
        _check_side_pending(rig, step, absorbed=FAULTS[fault].times == 1 and fault != "SIGKILL")
        return "completed"
    if "PromotionRequested" in kinds:
        assert (status["version"], status["open_promotion"]) == (None, VERSION), status
        tags, checked = STOPPED_AT[step]
        assert kinds.count("TagWritten") in tags, kinds
        assert ("GatePassed" in kinds) is ("SignatureVerified" in kinds) is checked, kinds
        return "open"
    assert (status["version"], status["open_promotion"]) == (None, None), status
    assert set(in_registry.values()) == {None}, in_registry  # nothing before the decision
    return "nothing"


def _check_side_pending(rig: Rig, step: str, *, absorbed: bool) -> None:
    """A completed promotion whose replica or webhook failed says so where it is kept;
    one whose fault the retries ``absorbed`` has nothing pending."""
    ws = rig.ws
    if step == "replica write":
        statuses = [r["status"] for r in ws.events("PromotionCompleted")[0]["registries"]]
        assert statuses == ["ok", "ok" if absorbed else "failed"], statuses
        if not absorbed:
            check = ws.run("platform", "sync", "--check", "-o", "json")
            assert check.returncode == 14, check.stdout + check.stderr
    if step == "webhook":
        pending = _json(ws.run("webhooks", "status", "-o", "json"))["deliveries"]
        assert [d["event_type"] for d in pending] == ([] if absorbed else ["promote"]), pending


def _rerun(rig: Rig, state: str, step: str) -> str:
    """The same command with the fault removed (``--force`` when it had completed: the
    documented idempotent completion), then the step's own retry; returns what it did."""
    ws = rig.ws
    hook = rig.proxies.get("webhook")
    delivered_before = hook is not None and any(s.status == 200 for s in hook.requests())
    proc = ws.run(*PROMOTE, *(("--force",) if state == "completed" else ()), "-o", "json")
    out = _json(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out["resumed"] is (state == "open"), out
    assert out["nothing_written"] is (state == "completed"), out
    did = {"nothing": "re-run", "open": "resumed", "completed": "no-op"}[state]
    if step == "replica write":
        synced = ws.run("platform", "sync", "-o", "json")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        did += ", synced"
    if step == "webhook":
        report = _json(ws.run("webhooks", "deliver", "-o", "json"))
        assert report["failed"] == 0 and not report["pending"], report
        if report["delivered"]:
            did += ", delivered"
        elif not delivered_before:  # the re-run's own delivery took over the dead lease
            did += ", delivered by the re-run"
    return did


def _check_complete(rig: Rig, step: str) -> None:
    """One promotion: its events once each, both tags, one record; replica level; each
    webhook delivery id received (at least once, one id per event)."""
    ws, host, repo, digest = rig.ws, rig.server.host, rig.repo, rig.digest
    kinds = ws.event_kinds()
    once = {"PromotionRequested": 1, "SignatureVerified": 1, "TagWritten": 2,
            "PromotionCompleted": 1}
    assert {k: kinds.count(k) for k in once} == once, kinds
    for kind in ("PromotionRejected", "SignatureRejected", "GateFailed"):
        assert kind not in kinds, kinds
    completed = ws.events("PromotionCompleted")[0]
    assert kinds.count("GatePassed") == len(completed["gate_results"]), kinds
    assert tag_digest(host, repo, ENV_TAG) == tag_digest(host, repo, LATEST_TAG) == digest
    assert not [t for t in all_tags(host, repo) if t.startswith("floe-record-")]
    assert promotion_records(host, repo, digest) == [completed["record_digest"]]
    if step == "replica write" and rig.replica is not None:
        for tag in (ENV_TAG, LATEST_TAG):
            assert tag_digest(rig.replica.host, repo, tag) is not None, tag
        assert tag_digest(rig.replica.host, repo, ENV_TAG) == digest
        assert promotion_records(rig.replica.host, repo, digest) == [completed["record_digest"]]
    if step == "webhook" and rig.hooks is not None:
        got = rig.hooks.requests_for(HOOK_PATH)
        ids = {r.headers.get("x-floe-delivery") for r in got}
        assert len(ids) == 1 and got, [r.headers for r in got]
        assert {r.json()["event_type"] for r in got} == {"promote"}, [r.json() for r in got]

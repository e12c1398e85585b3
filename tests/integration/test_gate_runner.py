"""Gate commands as real processes: exit codes, JSON status, timeouts, process groups,
secrets, bounded output; the security gate end to end; the parallel executor."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from floe_ledger.adapters.gates.command import run_command_gate
from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.adapters.gates.executor import DEFAULT_HANDLERS, run_gates
from floe_ledger.adapters.gates.runner import gate_env, run_command, substitute
from floe_ledger.adapters.gates.security import run_security_gate
from floe_ledger.adapters.gates.service import ConfiguredGates
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.model.gates import GatesConfig, GateSpec, SecurityGateConfig, plan_gates
from floe_ledger.domain.model.oci import OCI_MANIFEST
from floe_ledger.domain.model.policy import build_facts
from floe_ledger.domain.services.ports import GateRequest
from support.memory_registry import MemoryRegistry

PY = sys.executable
DIGEST = "sha256:" + "ab" * 32
TRIVY_SAMPLE = (Path(__file__).resolve().parents[1] / "data" / "scanners"
                / "trivy-image-debian-buster.json")


def context(tmp_path: Path, **kw: Any) -> GateContext:
    base: dict[str, Any] = {
        "artifact_ref": f"registry.test/acme/platform@{DIGEST}", "artifact_digest": DIGEST,
        "artifact_tag": "v1.2.3-dev", "source_env": "dev", "target_env": "staging",
        "workdir": str(tmp_path), "grace_seconds": 0.5}
    return GateContext(**(base | kw))


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def gate(argv: list[str], timeout: float = 30, name: str = "tests") -> GateSpec:
    return GateSpec(name, "command", timeout, tuple(argv))


@pytest.mark.requirement("FR-006")
def test_a_command_that_exits_0_passes(tmp_path: Path) -> None:
    result = run_command_gate(gate([PY, "-c", "print('all good')"]), context(tmp_path))
    assert result.status is GateStatus.PASSED
    assert result.details["exit_code"] == 0
    assert result.details["stdout_tail"] == "all good"


@pytest.mark.requirement("FR-006", "SC-007", "US1")
def test_a_failing_command_fails_with_exit_code_and_output_excerpt(tmp_path: Path) -> None:
    code = "import sys; print('ran 10 tests'); print('3 tests failed', file=sys.stderr); exit(3)"
    result = run_command_gate(gate([PY, "-c", code]), context(tmp_path))
    assert result.status is GateStatus.FAILED
    assert result.error == "gate command exited with code 3: 3 tests failed"
    assert result.details["exit_code"] == 3
    assert result.details["stdout_tail"] == "ran 10 tests"
    assert result.details["stderr_tail"] == "3 tests failed"
    assert result.details["command"][0] == PY


@pytest.mark.requirement("FR-011")
def test_a_json_status_line_reports_a_warning_with_details(tmp_path: Path) -> None:
    code = ("import json; print('checking cost');"
            "print(json.dumps({'status': 'warning', 'details': {'monthly_usd': 1234}}))")
    result = run_command_gate(gate([PY, "-c", code], name="cost_analysis"), context(tmp_path))
    assert result.status is GateStatus.WARNING
    assert result.details["reported"] == {"monthly_usd": 1234}


@pytest.mark.requirement("FR-011")
def test_a_json_failed_status_fails_even_with_exit_0_but_never_rescues_a_nonzero_exit(
        tmp_path: Path) -> None:
    failed = 'print(\'{"status": "failed", "message": "p95 regressed 40%"}\')'
    result = run_command_gate(gate([PY, "-c", failed]), context(tmp_path))
    assert (result.status, result.error) == (GateStatus.FAILED, "p95 regressed 40%")
    rescue = 'print(\'{"status": "passed"}\'); exit(1)'
    assert run_command_gate(gate([PY, "-c", rescue]), context(tmp_path)).status \
        is GateStatus.FAILED


@pytest.mark.requirement("FR-012b", "FR-012c", "NFR-003", "EDGE-06")
def test_a_timed_out_gate_and_its_sigterm_ignoring_grandchild_are_killed(tmp_path: Path) -> None:
    marker = tmp_path / "got-sigterm"
    leader = script(tmp_path, "leader.py", f"""
        import os, signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stubborn = subprocess.Popen([sys.executable, "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
        polite = subprocess.Popen([sys.executable, "-c",
            "import signal, sys, time\\n"
            "def bye(*_):\\n    open({str(marker)!r}, 'w').close(); sys.exit(0)\\n"
            "signal.signal(signal.SIGTERM, bye); time.sleep(60)"])
        print(os.getpgid(0), stubborn.pid, polite.pid, flush=True)
        time.sleep(60)
    """)
    started = time.monotonic()
    outcome = run_command([PY, leader], timeout=1.0, grace=0.5)
    elapsed = time.monotonic() - started
    assert outcome.timed_out and outcome.exit_code is None
    assert elapsed < 5, elapsed  # 1 s timeout + 0.5 s grace + slack, not 60 s
    pgid, stubborn, _polite = (int(x) for x in outcome.stdout_text.split())
    assert marker.exists(), "the group got SIGTERM before SIGKILL"
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(stubborn, 0)

    spec = gate([PY, leader], timeout=1)
    result = run_command_gate(spec, context(tmp_path))
    assert result.status is GateStatus.FAILED
    assert result.error == "Gate execution timed out after 1 seconds"


@pytest.mark.requirement("NFR-003")
def test_background_processes_left_by_a_finished_gate_are_cleaned_up(tmp_path: Path) -> None:
    leader = script(tmp_path, "daemon.py", """
        import os, subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(os.getpgid(0), child.pid)
    """)
    outcome = run_command([PY, leader], timeout=10, grace=0.5)
    assert outcome.exit_code == 0
    pgid, child = (int(x) for x in outcome.stdout_text.split())
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_secrets_do_not_reach_the_gate_but_artifact_facts_do(tmp_path: Path) -> None:
    parent = {"PATH": os.environ["PATH"], "HOME": "/home/ci", "FLOE_REGISTRY_PASSWORD": "pw",
              "FLOE_REGISTRY_USERNAME": "alice", "DOCKER_CONFIG": "/secret/docker",
              "FLOE_OIDC_TOKEN": "jwt", "GITHUB_TOKEN": "ghp", "AWS_SECRET_ACCESS_KEY": "k",
              "db_password": "pw", "MY_Secret_thing": "s"}
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    result = run_command_gate(gate([PY, "-c", code]), context(tmp_path, base_env=parent))
    seen = json.loads(result.details["stdout_tail"])
    assert seen["HOME"] == "/home/ci"
    assert seen["FLOE_ARTIFACT_REF"] == f"registry.test/acme/platform@{DIGEST}"
    assert seen["FLOE_ARTIFACT_DIGEST"] == DIGEST
    assert (seen["FLOE_SOURCE_ENV"], seen["FLOE_TARGET_ENV"]) == ("dev", "staging")
    for secret in ("FLOE_REGISTRY_PASSWORD", "FLOE_REGISTRY_USERNAME", "DOCKER_CONFIG",
                   "FLOE_OIDC_TOKEN", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "db_password",
                   "MY_Secret_thing"):
        assert secret not in seen
    assert "pw" not in json.dumps(gate_env(parent, {}))


def test_placeholders_fill_whole_arguments_without_splitting(tmp_path: Path) -> None:
    assert substitute(["--ref=${ARTIFACT_REF}", "${TARGET_ENV}", "$HOME"],
                      {"ARTIFACT_REF": "a b; rm -rf /", "TARGET_ENV": "prod"}) == [
        "--ref=a b; rm -rf /", "prod", "$HOME"]
    code = "import json, sys; print(json.dumps(sys.argv[1:]))"
    spec = gate([PY, "-c", code, "${ARTIFACT_TAG}", "tag=${ARTIFACT_TAG} ${ARTIFACT_DIGEST}"])
    result = run_command_gate(spec, context(tmp_path))
    assert json.loads(result.details["stdout_tail"]) == ["v1.2.3-dev", f"tag=v1.2.3-dev {DIGEST}"]


def test_a_missing_command_fails_with_a_clear_message(tmp_path: Path) -> None:
    result = run_command_gate(gate(["floe-no-such-gate-tool", "--x"]), context(tmp_path))
    assert result.status is GateStatus.FAILED
    assert result.error == ("gate command not found: 'floe-no-such-gate-tool' "
                            "(is it installed and on PATH?)")


def test_output_is_bounded_and_a_chatty_gate_cannot_deadlock(tmp_path: Path) -> None:
    code = ("import sys; sys.stdout.write('o' * 10_000_000 + 'END-OUT');"
            "sys.stderr.write('e' * 10_000_000 + 'END-ERR')")
    started = time.monotonic()
    outcome = run_command([PY, "-c", code], timeout=30)
    assert time.monotonic() - started < 15
    assert outcome.exit_code == 0
    assert outcome.stdout_total == 10_000_007 and outcome.stderr_total == 10_000_007
    assert len(outcome.stdout) == 8192 and outcome.stdout.endswith(b"END-OUT")
    assert len(outcome.stderr) == 8192 and outcome.stderr.endswith(b"END-ERR")
    result = run_command_gate(gate([PY, "-c", code]), context(tmp_path))
    assert len(result.details["stdout_tail"]) <= 2001


@pytest.mark.requirement("FR-057", "SCAN-09", "US12")
def test_the_scanner_runs_with_the_ref_and_its_exit_code_is_ignored(tmp_path: Path) -> None:
    scanner = script(tmp_path, "fake-trivy.py", f"""
        import sys
        assert sys.argv[1] == "registry.test/acme/platform@{DIGEST}", sys.argv
        print(open({str(TRIVY_SAMPLE)!r}).read())
        sys.exit(0)
    """)
    cfg = SecurityGateConfig(command=[PY, scanner, "${ARTIFACT_REF}"])
    [_, spec] = plan_gates("staging", GatesConfig(security_scan=cfg), {})
    result = run_security_gate(spec, context(tmp_path))
    assert result.status is GateStatus.FAILED
    assert result.security_summary is not None
    assert result.security_summary.blocking_ids == ("CVE-2019-18224",)
    lenient = SecurityGateConfig(command=[PY, scanner, "${ARTIFACT_REF}"],
                                 block_on_severity=["HIGH"])
    spec = GateSpec("security_scan", "security_scan", 30, tuple(lenient.command or ()), lenient)
    assert run_security_gate(spec, context(tmp_path)).status is GateStatus.WARNING


@pytest.mark.requirement("FR-057", "SC-007")
def test_a_scanner_that_crashes_fails_closed_with_its_exit_code(tmp_path: Path) -> None:
    code = "import sys; print('FATAL: image not found', file=sys.stderr); sys.exit(2)"
    cfg = SecurityGateConfig(command=[PY, "-c", code])
    spec = GateSpec("security_scan", "security_scan", 30, (PY, "-c", code), cfg)
    result = run_security_gate(spec, context(tmp_path))
    assert result.status is GateStatus.FAILED
    assert result.error == ("cannot read the trivy scanner report: the report is empty "
                            "(scanner exit code 2)")
    assert result.details["stderr_tail"] == "FATAL: image not found"


@pytest.mark.requirement("FR-057", "CFG-24")
def test_a_report_file_is_read_relative_to_the_workdir(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "v1.2.3-dev.json").write_bytes(TRIVY_SAMPLE.read_bytes())
    cfg = SecurityGateConfig(report="reports/${ARTIFACT_TAG}.json", ignore_unfixed=True)
    spec = GateSpec("security_scan", "security_scan", 30, security=cfg)
    result = run_security_gate(spec, context(tmp_path))
    assert result.status is GateStatus.FAILED
    assert result.details["report"].endswith("reports/v1.2.3-dev.json")
    missing = run_security_gate(
        GateSpec("security_scan", "security_scan", 30,
                 security=SecurityGateConfig(report="nope.json")), context(tmp_path))
    assert missing.status is GateStatus.FAILED
    assert (missing.error or "").startswith("cannot read scanner report ")


@pytest.mark.requirement("FR-006", "FR-011")
def test_the_executor_runs_gates_in_parallel_and_keeps_spec_order(tmp_path: Path) -> None:
    facts = build_facts({"mediaType": OCI_MANIFEST, "layers": []}, media_type=OCI_MANIFEST,
                        version="v1.2.3", source_env="dev", target_env="staging")
    nap = [PY, "-c", "import time; time.sleep(1)"]
    specs = [
        GateSpec("policy_compliance", "policy", 300),
        GateSpec("tests", "command", 30, tuple(nap)),
        GateSpec("perf", "command", 30, tuple(nap)),
        GateSpec("cost_analysis", "command", 30, error="gate 'cost_analysis' has no command"),
        GateSpec("boom", "security_scan", 30),
    ]

    def explode(spec: GateSpec, ctx: GateContext) -> GateResult:
        raise RuntimeError("scanner adapter bug")

    seen: list[str] = []
    started = time.monotonic()
    results = run_gates(specs, context(tmp_path, facts=facts), max_workers=4,
                        on_result=lambda r: seen.append(r.gate),
                        handlers={**DEFAULT_HANDLERS, "security_scan": explode})
    assert time.monotonic() - started < 1.9  # the two 1 s gates overlapped
    assert [r.gate for r in results] == [s.name for s in specs]
    assert sorted(seen) == sorted(s.name for s in specs)
    assert [r.status for r in results] == [GateStatus.PASSED, GateStatus.PASSED,
                                           GateStatus.PASSED, GateStatus.FAILED,
                                           GateStatus.FAILED]
    assert results[1].duration_ms >= 900
    assert results[3].error == "gate 'cost_analysis' has no command"
    assert results[4].error == "gate crashed: RuntimeError: scanner adapter bug"


def test_a_missing_working_directory_is_named(tmp_path: Path) -> None:
    ctx = context(tmp_path, workdir=str(tmp_path / "gone"))
    result = run_command_gate(gate([PY, "-c", "pass"]), ctx)
    assert result.error == f"gate working directory does not exist: {tmp_path / 'gone'}"


def promotion_config(gates: dict[str, Any], **extra: Any) -> Any:
    return PromotionConfig.model_validate({
        "environments": [{"name": "dev"}, {"name": "staging", "gates": gates},
                         {"name": "prod", "gates": {"tests": True}}],
        "gate_commands": {"tests": {"command": [PY, "-c", "print('ok')"]}},
        **extra,
    })


def promotion_context(version: str = "v1.2.3", target: str = "staging") -> Any:
    registry = MemoryRegistry()
    manifest = registry.push_artifact([b"config: 1"], tag=version)
    return GateRequest(
        repository="registry.test/floe/app", artifact_ref=f"{registry.uri}@{manifest.digest}",
        digest=manifest.digest, version=version, tag=f"{version}-dev", source="dev",
        target=target, registry=registry, signature={"status": "verified"})


@pytest.mark.requirement("FR-006", "FR-010", "FR-011", "FR-012")
def test_the_configured_runner_plans_runs_and_records_every_gate(tmp_path: Path) -> None:
    policies = [{"name": "signed", "expression": 'signature.status == "verified"',
                 "message": "must be signed"},
                {"name": "has-sbom", "expression": '"application/spdx+json" in referrers',
                 "message": "attach an SPDX SBOM first", "environments": ["prod"]}]
    gates = ConfiguredGates(promotion_config({"tests": True}, policies=policies),
                            workdir=str(tmp_path))
    gates.validate()
    assert gates.gate_names("dev") == ["policy_compliance"]
    assert gates.gate_names("staging") == ["policy_compliance", "tests"]
    results = {r.gate: r.model_dump(mode="json") for r in gates.run(promotion_context())}
    assert results["policy_compliance"]["status"] == "passed"
    assert "signed" in results["policy_compliance"]["details"]["rules"]
    assert results["tests"]["status"] == "passed"
    assert results["security_scan"]["status"] == "skipped"
    prod = {r.gate: r.model_dump(mode="json")
            for r in gates.run(promotion_context("v2.0.0-rc.1", "prod"))}
    assert prod["policy_compliance"]["status"] == "failed"
    assert "policy 'has-sbom' violated: attach an SPDX SBOM first" in \
        prod["policy_compliance"]["error"]
    assert "version-is-release" in prod["policy_compliance"]["error"]


@pytest.mark.requirement("CFG-09", "CFG-32")
def test_the_configured_runner_reports_bad_config_at_its_manifest_path() -> None:
    bad_gates = ConfiguredGates(promotion_config({"security_scan": {"ignore_unfixed": "maybe"}}))
    with pytest.raises(ConfigError) as caught:
        bad_gates.validate()
    assert caught.value.details["problems"][0].startswith(
        "artifacts.promotion.environments[1].gates.security_scan.ignore_unfixed: ")
    bad_cel = ConfiguredGates(promotion_config({}, policies=[
        {"name": "x", "expression": "size >", "message": "m"}]))
    with pytest.raises(ConfigError, match=r"policies\[0\]\.expression \(x\): CEL syntax error"):
        bad_cel.validate()

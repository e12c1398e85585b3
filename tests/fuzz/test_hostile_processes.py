"""Hostile input against the real process: a few cases per category run as ``floe`` does
for a user (support.workspace, the real registry), each measured: the exit code is the
documented one, stderr holds no "Traceback" and no raw control character, and the peak
resident memory stays bounded while floe refuses a 1 GiB file, /dev/zero or an alias bomb.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from support.fuzzing import RAW_CONTROL
from support.hostile_tokens import claims, forge
from support.oidc import OidcIssuer
from support.registry_server import RegistryServer
from support.workspace import FLOE, Workspace, make_workspace

RSS_LIMIT_MIB = 150
"""Peak RSS allowed for one refusal (a plain ``floe whoami`` takes about 60 MiB)."""

# Runs FLOE as its child and prints that child's peak RSS (KiB) as the last stderr line.
_MEASURE = ("import resource, subprocess, sys\n"
            "code = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL).returncode\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)\n")


def run(ws: Workspace, tally, args: Sequence[str | bytes], expected: int,
        env: dict[str, str] | None = None) -> tuple[str, str]:
    """Run ``floe *args`` in ``ws``; check exit code, stderr, time and peak memory."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, FLOE, *args], cwd=ws.root,
                          env={**ws.env, **(env or {})}, capture_output=True, timeout=60)
    elapsed = time.monotonic() - started
    stdout = proc.stdout.decode("utf-8", "replace")
    *lines, rss = proc.stderr.decode("utf-8", "replace").rstrip("\n").split("\n")
    stderr = "\n".join(lines)
    peak_mib = int(rss) / 1024
    tally.add(proc.returncode, traceback="Traceback" in stderr, peak_mib=peak_mib)
    assert "Traceback" not in stderr and "unexpected error" not in stdout + stderr, stderr
    assert proc.returncode == expected, (args, proc.returncode, stdout, stderr)
    assert not RAW_CONTROL.search(stderr), stderr
    assert peak_mib < RSS_LIMIT_MIB, (args, peak_mib)
    assert elapsed < 30, (args, elapsed)
    return stdout, stderr


@pytest.fixture
def ws(tmp_path: Path, registry_server: RegistryServer, repo_name: str) -> Workspace:
    return make_workspace(tmp_path, registry_server, repo_name)


def _laughs() -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 12)]
    return "\n".join(lines) + "\n"


@pytest.mark.requirement("CFG-32", "FR-032")
def test_manifest_bombs_as_a_process(ws: Workspace, tally, tmp_path: Path) -> None:
    count = tally("processes: manifest.yaml")
    good = (ws.root / "manifest.yaml").read_text()
    (ws.root / "bomb.yaml").write_text(_laughs() + good)
    (ws.root / "deep.yaml").write_text(good + "x: " + "[" * 100_000 + "]" * 100_000 + "\n")
    huge = ws.root / "huge.yaml"
    with huge.open("wb") as f:
        f.write(good.encode())
        f.truncate(1 << 30)
    (ws.root / "latin1.yaml").write_bytes(good.encode() + b"# caf\xe9\n")
    status = ["platform", "status"]  # reads the file for its cached summary first
    for command, manifest, says in ((["whoami"], "bomb.yaml", "aliases"),
                                    (["whoami"], "deep.yaml", "nested"),
                                    (["whoami"], "latin1.yaml", "not UTF-8"),
                                    (status, "huge.yaml", "not read"),
                                    (status, "/dev/zero", "not read")):
        _, stderr = run(ws, count, [*command, "--manifest", manifest], 2)
        assert says in stderr and stderr.startswith("error: "), stderr


@pytest.mark.requirement("FR-032", "CLI-01", "CLI-10")
def test_hostile_arguments_as_a_process(ws: Workspace, tally) -> None:
    count = tally("processes: CLI arguments")
    cases: list[tuple[list[str | bytes], int, str]] = [
        (["platform", "promote", "v" + "1" * 10_000 + ".0.0", "--to", "dev"], 2,
         "(10005 characters)"),
        (["platform", "promote", "v1.0.0\n", "--to", "dev"], 2, "not a semantic version"),
        (["platform", "promote", "v1.0.0", "--to", "dev\x1b[2K"], 2, "dev\\x1b[2K"),
        (["platform", "lock", "--env", "prod", "--reason", "ok\nforged line"], 2,
         "control characters"),
        ([b"platform", b"lock", b"--env", b"prod", b"--reason", b"caf\xe9"], 2,
         "not valid UTF-8"),
        (["platform", "status", "\x1b]0;title\x07"], 2, "\\x1b]0;title\\x07"),
        (["artifact", "keygen", "x" * 300], 2, "cannot write"),
    ]
    for args, code, says in cases:
        _, stderr = run(ws, count, args, code)
        assert says in stderr, (args, stderr)


@pytest.mark.requirement("FR-057", "EXIT-8")
def test_hostile_scanner_reports_as_a_process(ws: Workspace, tally) -> None:
    count = tally("processes: scanner reports")
    sparse = ws.root / "huge.json"
    with sparse.open("wb") as f:
        f.write(b'{"SchemaVersion": 2, "Results": [')
        f.truncate(1 << 30)
    (ws.root / "zero.json").symlink_to("/dev/zero")
    (ws.root / "deep.json").write_bytes(b"[" * 500_000 + b"]" * 500_000)
    (ws.root / "values.json").write_bytes(b"[" + b"[]," * 8_000_001 + b"[]]")  # 24 MB
    for i, (report, says) in enumerate((("huge.json", "not read"),
                                        ("zero.json", "not a regular file"),
                                        ("deep.json", "nested too deeply"),
                                        ("values.json", "JSON values; not parsed"))):
        ws.write_manifest(promotion={"environments": [
            {"name": "dev", "gates": {"security_scan": {"report": report}}}, {"name": "prod"}]})
        ws.push(f"v1.0.{i}")
        stdout, _ = run(ws, count, ["platform", "promote", f"v1.0.{i}", "--to", "dev",
                                    "-o", "json"], 8)
        gates = json.loads(stdout)["gate_results"]
        assert says in json.dumps(gates), gates


@pytest.mark.requirement("FR-045", "EXIT-12")
def test_hostile_oidc_tokens_as_a_process(ws: Workspace, tally) -> None:
    count = tally("processes: OIDC tokens")
    issuer = OidcIssuer(ws.root)
    ws.write_manifest(identity={"oidc": issuer.config()})
    now = int(time.time())
    tokens = {
        "expired": forge(issuer, claims(exp=now - 3600)),
        "alg none": forge(issuer, claims(), "none"),
        "ES256 header over an RSA signature": forge(issuer, claims(),
                                                    "es256-header-rsa-signature"),
        "80 KB, signed by another key (an environment variable holds 128 KiB)": forge(
            issuer, claims(pad="x" * 80_000), "rs256-other-key"),
    }
    for name, token in tokens.items():
        stdout, stderr = run(ws, count, ["platform", "lock", "--env", "prod", "--reason", "r"],
                             12, env={"FLOE_OIDC_TOKEN": token})
        assert "FLOE_OIDC_TOKEN was refused" in stderr, (name, stderr)
        assert not any(part in stdout + stderr for part in token.split(".") if len(part) > 9)
    assert "EnvironmentLocked" not in ws.event_kinds()

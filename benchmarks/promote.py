"""Promotion speed against a real local registry, with the peers in the same run.

Whole process: `floe platform promote` vs two `skopeo copy --preserve-digests` vs the
stdlib reference script. In process: PromotionService.promote vs raw GET + 2 PUT, and the
cost of key-based signature verification. Also `floe platform status` latency.
Prints medians and ratios, with the machine's load average; targets are in the issue, not
asserted. The installed floe is byte-compiled first, as pip does when it installs a package
(this environment sets PYTHONDONTWRITEBYTECODE, which would otherwise make every run compile
floe's ~100 modules from source: ~100-150 ms a process that no installed floe pays).

    .venv/bin/python benchmarks/promote.py [--runs 15]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _results import load_line, record

import floe_ledger
from floe_ledger.adapters.records import OciRecordWriter
from floe_ledger.adapters.records.reader import OciRecordReader
from floe_ledger.adapters.registry.factory import RegistrySettings, open_registry
from floe_ledger.adapters.signing.cosign import sign
from floe_ledger.adapters.signing.verifier import SignatureVerifier
from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.system.clock import SystemClock
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.signature import VerificationPolicy
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.registry_server import start_registry  # noqa: E402

BIN = Path(sys.executable).parent
FLOE = str(BIN / "floe")


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def med(samples: list[float]) -> float:
    return statistics.median(samples)


def run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")


def compile_installed() -> None:
    """Byte-compile floe where it is installed (what ``pip install`` does for a package)."""
    for folder in floe_ledger.__path__:
        compileall.compile_dir(folder, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    compile_installed()
    print(f"at start: {load_line()}")
    server = start_registry()
    work = Path(tempfile.mkdtemp(prefix="floe-bench."))
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(work)}
    env.pop("FLOE_LEDGER_URL", None)
    repo = "bench/app"
    try:
        (work / "manifest.yaml").write_text(
            f"artifacts:\n  registry:\n    uri: oci://{server.host}/{repo}\n    plain_http: true\n")
        total = runs * 5 + 10  # floe runs, reconcile_cost 2 x runs, in_process 2 x runs
        for i in range(total):
            (work / "f.txt").write_text(f"artifact {i}\n")
            run([FLOE, "artifact", "push", "f.txt", f"v1.0.{i}-dev"], work, env)
        versions = iter(range(total))
        results: dict[str, list[float]] = {}

        def floe_promote(_: int) -> None:
            n = next(versions)
            run([FLOE, "platform", "promote", f"v1.0.{n}", "--from", "dev", "--to", "staging"],
                work, env)

        def stdlib_promote(i: int) -> None:
            run([sys.executable, str(ROOT / "benchmarks/stdlib_promote.py"), server.host, repo,
                 "v1.0.0-dev", f"ref{i}-staging", "latest-ref"], work, env)

        skopeo = shutil.which("skopeo")

        def skopeo_promote(i: int) -> None:
            assert skopeo
            for dst in (f"sk{i}-staging", "latest-sk"):
                run([skopeo, "copy", "-q", "--preserve-digests", "--src-tls-verify=false",
                     "--dest-tls-verify=false", f"docker://{server.host}/{repo}:v1.0.0-dev",
                     f"docker://{server.host}/{repo}:{dst}"], work, env)

        results["floe promote (whole process)"] = timed(floe_promote, runs)
        results["stdlib reference (whole process)"] = timed(stdlib_promote, runs)
        if skopeo:
            results["2 x skopeo copy (whole process)"] = timed(skopeo_promote, runs)
        results["floe status (whole process)"] = timed(
            lambda _: run([FLOE, "platform", "status", "-o", "json"], work, env), runs)
        results.update(in_process(server.host, repo, work, versions, runs))
        report(results)
    finally:
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def in_process(host: str, repo: str, work: Path, versions, runs: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]

    subprocess.run([FLOE, "artifact", "keygen", "k"], cwd=work, capture_output=True, check=True)
    registry = open_registry(RegistrySettings(uri=f"oci://{host}/{repo}", plain_http=True),
                             base_dir=work, env={})
    store = EventStoreLedger(ledger_location(f"sqlite:///{work}/inproc.sqlite", work))
    plain = PromotionService(store=store, registry=registry, repository=registry.uri,
                             config=PromotionConfig(), clock=SystemClock())
    verifier = SignatureVerifier(VerificationPolicy(enforcement="enforce",
                                                    public_keys=[str(work / "k.pub")]))
    signed = PromotionService(store=store, registry=registry, repository=registry.uri,
                              config=PromotionConfig(), signatures=verifier,
                              clock=SystemClock())
    actor = Actor("bench")
    out = reconcile_cost(host, repo, work, store, versions, runs, actor)
    pending = [next(versions) for _ in range(2 * runs)]
    for n in pending[runs:]:
        digest = registry.resolve(f"v1.0.{n}-dev")
        assert digest is not None
        sign(registry, digest.digest, work / "k.key", f"{host}/{repo}")
    plain_iter, signed_iter = iter(pending[:runs]), iter(pending[runs:])
    out |= {
        "in-process promote": timed(lambda _: plain.promote(PromoteRequest(
            f"v1.0.{next(plain_iter)}", "dev", "staging"), actor), runs),
        "in-process promote + key-based verify": timed(lambda _: signed.promote(PromoteRequest(
            f"v1.0.{next(signed_iter)}", "dev", "staging", use_cache=False), actor), runs),
    }
    client = httpx.Client()
    base = f"http://{host}/v2/{repo}/manifests"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}

    def raw(i: int) -> None:
        got = client.get(f"{base}/v1.0.0-dev", headers=accept)
        for tag in (f"raw{i}-staging", "latest-raw"):
            client.put(f"{base}/{tag}", content=got.content,
                       headers={"Content-Type": got.headers["content-type"]}).raise_for_status()

    out["raw httpx GET + 2 PUT"] = timed(raw, runs)
    out["sigstore imported"] = [1.0 if "sigstore" in sys.modules else 0.0]
    return out


class CountingTransport(httpx.HTTPTransport):
    """Counts the HTTP requests the registry adapter sends."""

    requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        CountingTransport.requests += 1
        return super().handle_request(request)


def reconcile_cost(host: str, repo: str, work: Path, store, versions, runs: int,  # type: ignore[no-untyped-def]
                   actor: Actor) -> dict[str, list[float]]:
    """The same promotion without and with reading other ledgers' records first: time and
    registry requests (the round trips reconciling adds)."""
    registry = open_registry(RegistrySettings(uri=f"oci://{host}/{repo}", plain_http=True),
                             base_dir=work, env={}, transport=CountingTransport())
    services = {
        "in-process promote, records not read": PromotionService(
            store=store, registry=registry, repository=registry.uri, config=PromotionConfig(),
            clock=SystemClock(), records=OciRecordWriter()),
        "in-process promote, records read first": PromotionService(
            store=store, registry=registry, repository=registry.uri, config=PromotionConfig(),
            clock=SystemClock(), records=OciRecordWriter(), reader=OciRecordReader()),
    }
    out: dict[str, list[float]] = {}
    for name, service in services.items():
        todo = iter([next(versions) for _ in range(runs)])
        before = CountingTransport.requests
        out[name] = timed(lambda _, s=service, t=todo: s.promote(PromoteRequest(  # type: ignore[misc]
            f"v1.0.{next(t)}", "dev", "staging"), actor), runs)
        out[f"registry requests per promote, {name.split(', ')[1]}"] = [
            (CountingTransport.requests - before) / runs]
    return out


def report(results: dict[str, list[float]]) -> None:
    print(f"\n{'measurement':<42} {'median ms':>10} {'p90 ms':>8}")
    for name, samples in results.items():
        if name == "sigstore imported" or name.startswith("registry requests"):
            continue
        p90 = sorted(samples)[int(len(samples) * 0.9) - 1] if len(samples) > 1 else samples[0]
        print(f"{name:<42} {med(samples):>10.1f} {p90:>8.1f}")
    floe = med(results["floe promote (whole process)"])
    ref = med(results["stdlib reference (whole process)"])
    print(f"\nat the end: {load_line()}")
    print(f"floe / stdlib reference: {floe / ref:.2f}x (target <= 4x)")
    record("whole-process promote / stdlib reference (GET + 2 PUT)", round(floe / ref, 2),
           "<= 4x", f"floe {floe:.0f} ms, stdlib reference {ref:.0f} ms", "x")
    if "2 x skopeo copy (whole process)" in results:
        sk = med(results["2 x skopeo copy (whole process)"])
        print(f"floe / 2 x skopeo copy:  {floe / sk:.2f}x (target <= 2x)")
    print(f"floe status: {med(results['floe status (whole process)']):.0f} ms (target <= 150 ms)")
    verify = (med(results["in-process promote + key-based verify"])
              - med(results["in-process promote"]))
    print(f"key-based verification adds {verify:.1f} ms in process (target <= 20 ms)")
    print(f"in-process promote / raw GET+2PUT: "
          f"{med(results['in-process promote']) / med(results['raw httpx GET + 2 PUT']):.1f}x")
    without, with_ = (results[f"registry requests per promote, records {w}"][0]
                      for w in ("not read", "read first"))
    cost = (med(results["in-process promote, records read first"])
            - med(results["in-process promote, records not read"]))
    print(f"reading other ledgers' records first: {with_ - without:+.1f} registry requests per "
          f"promote ({without:.0f} -> {with_:.0f}), {cost:+.1f} ms in process")
    print(f"sigstore imported without a keyless policy: "
          f"{bool(results['sigstore imported'][0])}")


if __name__ == "__main__":
    main()

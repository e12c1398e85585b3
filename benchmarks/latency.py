"""A promotion through a remote registry's latency, against skopeo through the same latency.

A delay proxy on 127.0.0.1 (tests/support/fault_proxy.py, ``latency=``) adds 50 ms to every
request in front of a real docker-registry: what a user waits for against GHCR, ECR or
Harbor is the number of sequential round trips. In the same run:

- whole-process ``floe platform promote vX --from dev --to staging`` as a user runs it: key-based
  signature verification enforced, the promotion record written, through the proxy;
- two ``skopeo copy --preserve-digests`` (the env tag and ``latest``) through the same proxy.

Prints the medians, their ratio (target <= 1.0x), the registry requests one promote makes (the
proxy counts them; target <= 12) with the list, skopeo's count, and the load average; writes
the rows to benchmarks/results.json. Asserts nothing.

    .venv/bin/python benchmarks/latency.py [--runs 7] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from floe_ledger.adapters.registry.artifacts import push_files
from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.signing.cosign import sign

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import load_line, record  # noqa: E402

from support.fault_proxy import FaultProxy, Seen  # noqa: E402
from support.registry_server import start_registry  # noqa: E402

FLOE = str(Path(sys.executable).parent / "floe")
REPO = "bench/app"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")


def timed(proxy: FaultProxy, action: Callable[[], None]) -> tuple[float, list[Seen]]:
    """Milliseconds ``action`` took, and the requests the proxy saw meanwhile."""
    first = len(proxy.seen)
    start = time.perf_counter()
    action()
    elapsed = (time.perf_counter() - start) * 1000
    return elapsed, list(proxy.seen[first:])


def prepare(server_host: str, proxy_host: str, work: Path, count: int,
            env: dict[str, str]) -> None:
    """Versions v1.0.0..: pushed to dev and signed with k.key, straight to the registry (not
    measured); a manifest that reaches the registry through the proxy and enforces the key."""
    run([FLOE, "artifact", "keygen", "k"], work, env)
    direct = DistributionRegistry(server_host, REPO, plain_http=True)
    try:
        for i in range(count):
            path = work / "files" / f"v{i}" / "app.txt"
            path.parent.mkdir(parents=True)
            path.write_text(f"artifact {i}\n")
            pushed = push_files(direct, [path], f"v1.0.{i}-dev")
            sign(direct, pushed.digest, work / "k.key", f"{proxy_host}/{REPO}")
    finally:
        direct.close()
    (work / "manifest.yaml").write_text(
        "artifacts:\n"
        "  registry:\n"
        f"    uri: oci://{proxy_host}/{REPO}\n"
        "    plain_http: true\n"
        "    verification:\n"
        "      enforcement: enforce\n"
        "      public_keys: [k.pub]\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    opts = parser.parse_args()
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        sys.exit("skopeo is not installed: run `make system-deps`")
    server = start_registry()
    proxy = FaultProxy(server.host, latency=opts.latency_ms / 1000).start()
    work = Path(tempfile.mkdtemp(prefix="floe-latency."))
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(work)}
    for name in ("FLOE_LEDGER_URL", "FLOE_REGISTRY_USERNAME", "FLOE_REGISTRY_PASSWORD",
                 "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER"):
        env.pop(name, None)
    try:
        prepare(server.host, proxy.host, work, opts.runs + 1, env)

        def promote(n: int) -> Callable[[], None]:
            return lambda: run([FLOE, "platform", "promote", f"v1.0.{n}", "--from", "dev",
                                "--to", "staging", "-o", "json"], work, env)

        def copies(n: int) -> Callable[[], None]:
            def both() -> None:
                for dst in (f"v1.0.{n}-sk", "latest-sk"):
                    run([skopeo, "copy", "-q", "--preserve-digests", "--src-tls-verify=false",
                         "--dest-tls-verify=false",
                         f"docker://{proxy.host}/{REPO}:v1.0.{n}-dev",
                         f"docker://{proxy.host}/{REPO}:{dst}"], work, env)
            return both

        timed(proxy, promote(0))  # warm-up: the ledger's first promotion, then skopeo's
        timed(proxy, copies(0))
        floe, sk = [], []
        for n in range(1, opts.runs + 1):  # interleaved: load drifts hit both alike
            floe.append(timed(proxy, promote(n)))
            sk.append(timed(proxy, copies(n)))
        report(floe, sk, opts.latency_ms)
    finally:
        proxy.stop()
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def report(floe: list[tuple[float, list[Seen]]], sk: list[tuple[float, list[Seen]]],
           latency_ms: float) -> None:
    floe_ms = statistics.median(t for t, _ in floe)
    sk_ms = statistics.median(t for t, _ in sk)
    counts = sorted({len(seen) for _, seen in floe})
    sk_counts = sorted({len(seen) for _, seen in sk})
    requests = floe[-1][1]
    print(f"\npromote through {latency_ms:.0f} ms per registry round trip "
          f"({len(floe)} runs each, medians)")
    print(f"  floe platform promote (key-verified, record written): {floe_ms:8.0f} ms")
    print(f"  2 x skopeo copy --preserve-digests:                  {sk_ms:8.0f} ms")
    print(f"  floe / skopeo: {floe_ms / sk_ms:.2f}x (target <= 1.0x)")
    print(f"  registry requests for one promote: {'/'.join(map(str, counts))} (target <= 12); "
          f"2 x skopeo copy: {'/'.join(map(str, sk_counts))}")
    start = requests[0].at if requests else 0.0
    for seen in requests:
        print(f"    +{(seen.at - start) * 1000:6.0f} ms  {seen.method:<6} "
              f"{_short(seen.path):<58} {seen.status}")
    print(f"  {load_line()}")
    record(f"promote through {latency_ms:.0f} ms latency / 2 x skopeo copy",
           round(floe_ms / sk_ms, 2), "<= 1.0x",
           f"floe {floe_ms:.0f} ms, 2 x skopeo copy {sk_ms:.0f} ms", "x")
    record("registry requests for one promote (key-based verify + record)", max(counts),
           "<= 12", f"2 x skopeo copy {max(sk_counts)} requests", "requests")


def _short(path: str) -> str:
    """A request path with the repository and long hex digests cut, for the list."""
    path = path.removeprefix(f"/v2/{REPO}/")
    for prefix in ("sha256:", "sha256-"):
        at = path.find(prefix)
        if at != -1:
            path = path[:at + len(prefix) + 8] + "…" + path[at + len(prefix) + 64:]
    return path


if __name__ == "__main__":
    main()

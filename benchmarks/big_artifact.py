"""A 1 GiB artifact copied between two local registries by floe, against skopeo (issue 15 item 5).

The artifact: ``--layers`` (4) layers of ``--layer-mib`` (256) MiB of random bytes, generated
once and cached under /tmp/floe-big-artifact (with their digests), pushed to a real
docker-registry. In the same run, each of ``--runs`` rounds (alternating who goes first):

- floe: a child process running the code path `floe platform sync` and every replica write
  use (``replicate_tags``: blobs streamed from the source to the replica, the digest checked
  while the bytes pass, up to 4 blobs at once), into a second registry;
- skopeo: ``skopeo copy --preserve-digests`` of the same artifact into a third registry.

Each copy goes into a registry of its own, started for it and removed after it (nothing is
already there, no cross-repository mount applies, and skopeo's blob-info cache, which
outlives its process, knows nothing of it). Prints the best throughput of each
(MB/s), floe's / skopeo's ratio (target >= 0.8x), floe's peak RSS (the child's ru_maxrss from
wait4; target <= 200 MiB) and the load average; writes the rows to benchmarks/results.json.
Asserts nothing. Needs ~1 GiB for the cache plus ~2 GiB of registries in /tmp (removed as it goes,
but the cache; ``--drop-cache`` removes it too).

    .venv/bin/python benchmarks/big_artifact.py [--runs 3] [--layers 4] [--layer-mib 256]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.domain.model.blobs import BlobStream
from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest, sha256_digest, sorted_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _results import load_line, record  # noqa: E402

from support.registry_server import RegistryServer, start_registry  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "floe-big-artifact"
CHILD = Path(__file__).resolve().parent / "_big_artifact_copy.py"
MIB = 1024 * 1024
REPO = "bench/big"
THROUGHPUT_ROW = "big artifact copy throughput / skopeo copy (1 GiB)"
RSS_ROW = "big artifact copy peak RSS (MiB)"


def layers(count: int, mib: int) -> list[tuple[Path, str]]:
    """The cached random layers and their digests (made once)."""
    CACHE.mkdir(exist_ok=True)
    found = []
    for n in range(count):
        path, sidecar = CACHE / f"layer-{n}-{mib}m.bin", CACHE / f"layer-{n}-{mib}m.sha256"
        if not (path.is_file() and sidecar.is_file() and path.stat().st_size == mib * MIB):
            need = mib * MIB * (count - n) * 4  # the cache, and what the registries store
            if shutil.disk_usage(CACHE).free < need:
                sys.exit(f"not enough room in {CACHE.parent} for the {count} x {mib} MiB layers")
            hasher = hashlib.sha256()
            with path.open("wb") as out:
                for _ in range(mib):
                    block = os.urandom(MIB)
                    hasher.update(block)
                    out.write(block)
            sidecar.write_text("sha256:" + hasher.hexdigest())
        found.append((path, sidecar.read_text().strip()))
    return found


def file_stream(path: Path, digest: str) -> BlobStream:
    handle = path.open("rb")
    return BlobStream(digest, path.stat().st_size, iter(lambda: handle.read(MIB), b""),
                      close=handle.close)


def push(server: RegistryServer, files: list[tuple[Path, str]]) -> str:
    """Push the artifact to ``server`` (tag v1); its manifest digest."""
    registry = DistributionRegistry(server.host, REPO, plain_http=True)
    try:
        config = registry.put_blob(b"{}")
        for path, digest in files:
            registry.put_blob_from(digest, path.stat().st_size,
                                   lambda p=path, d=digest: file_stream(p, d))  # type: ignore[misc]
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config,
                          "size": 2},
               "layers": [{"mediaType": "application/octet-stream", "digest": digest,
                           "size": path.stat().st_size,
                           "annotations": {"org.opencontainers.image.title": path.name}}
                          for path, digest in files]}
        data = sorted_json(doc)
        manifest = Manifest(sha256_digest(data), OCI_MANIFEST, data)
        registry.put_manifest("v1", manifest)
        return manifest.digest
    finally:
        registry.close()


def floe_copy(source: RegistryServer, dest: RegistryServer, repo: str,
              digest: str, python: str) -> tuple[float, float]:
    """Seconds the floe child took, and its peak RSS in MiB."""
    started = time.perf_counter()
    child = subprocess.Popen([python, str(CHILD), source.host, REPO, dest.host, repo,
                              digest, "v1"], stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"the floe copy failed ({child.returncode})")
    return elapsed, usage.ru_maxrss / 1024  # Linux: KiB


def skopeo_copy(source: RegistryServer, dest: RegistryServer, repo: str, home: Path) -> float:
    """Seconds ``skopeo copy --preserve-digests`` took (its own empty blob-info cache)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    args = ["skopeo", "copy", "--quiet", "--preserve-digests", "--src-tls-verify=false",
            "--dest-tls-verify=false", f"docker://{source.host}/{REPO}:v1",
            f"docker://{dest.host}/{repo}:v1"]
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"skopeo copy failed: {proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--layer-mib", type=int, default=256)
    parser.add_argument("--drop-cache", action="store_true", help="remove the cached layers")
    parser.add_argument("--floe-python", default=sys.executable,
                        help="the interpreter of the floe copy (another checkout's .venv: "
                        "to measure a build before a change)")
    args = parser.parse_args()
    if not shutil.which("skopeo"):
        sys.exit("skopeo is not installed: run `make system-deps`")
    files = layers(args.layers, args.layer_mib)
    total_mb = sum(p.stat().st_size for p, _ in files) / 1e6
    source = start_registry()
    homes = Path(tempfile.mkdtemp(prefix="floe-big-skopeo-"))
    floe_s: list[float] = []
    skopeo_s: list[float] = []
    rss: list[float] = []
    try:
        digest = push(source, files)
        for n in range(args.runs):
            order = ("floe", "skopeo") if n % 2 == 0 else ("skopeo", "floe")
            for who in order:
                dest = start_registry()  # new: nothing there, unknown to skopeo's blob cache
                try:
                    if who == "floe":
                        seconds, peak = floe_copy(source, dest, REPO, digest, args.floe_python)
                        floe_s.append(seconds)
                        rss.append(peak)
                    else:
                        skopeo_s.append(skopeo_copy(source, dest, REPO, homes / str(n)))
                finally:
                    dest.cleanup()
    finally:
        source.cleanup()
        shutil.rmtree(homes, ignore_errors=True)
        if args.drop_cache:
            shutil.rmtree(CACHE, ignore_errors=True)
    report(total_mb, floe_s, skopeo_s, rss, args)


def report(total_mb: float, floe_s: list[float], skopeo_s: list[float], rss: list[float],
           args: argparse.Namespace) -> None:
    floe_mbs, skopeo_mbs = total_mb / min(floe_s), total_mb / min(skopeo_s)
    ratio, peak = floe_mbs / skopeo_mbs, max(rss)
    size = f"{args.layers} x {args.layer_mib} MiB"
    print(f"big artifact ({size} = {total_mb:.0f} MB), best of {args.runs} runs, whole process")
    print(f"  floe (replica copy path):       {floe_mbs:8.1f} MB/s  "
          f"runs {', '.join(f'{s:.2f}' for s in floe_s)} s")
    print(f"  skopeo copy --preserve-digests: {skopeo_mbs:8.1f} MB/s  "
          f"runs {', '.join(f'{s:.2f}' for s in skopeo_s)} s")
    print(f"  ratio floe / skopeo:            {ratio:8.2f}x  (target >= 0.8x)")
    print(f"  floe peak RSS:                  {peak:8.1f} MiB (target <= 200 MiB)")
    print(f"  {load_line()}")
    record(THROUGHPUT_ROW, round(ratio, 2), ">= 0.8x", f"skopeo {skopeo_mbs:.1f} MB/s, floe "
           f"{floe_mbs:.1f} MB/s", "x skopeo's throughput")
    record(RSS_ROW, round(peak, 1), "<= 200", None, "MiB")


if __name__ == "__main__":
    main()

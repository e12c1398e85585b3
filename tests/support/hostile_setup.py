"""A floe workspace whose registry (and replica) is reached through a :class:`HostileServer`
proxy in front of the real registry: everything is real until a case poisons one answer.

The setup pushes ``v1.0.0`` (two files), signs it and promotes it into ``dev``; pushes and
promotes ``v2.0.0`` (its record is a real record of another subject); and syncs the
replica, so promote, status, audit, pull, verify and sync all have something to read.
``manifest.yaml`` enforces signatures; ``plain.yaml`` is the same without verification
(for pulls of artifacts the hostile registry makes up).
"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from support.hostile_server import HostileServer
from support.measured import Measured, run_measured
from support.registry_server import RegistryServer
from support.workspace import ACCEPT, FLOE, Workspace, base_env, list_tags

REPO = "hostile/app"
REPLICA_REPO = "hostile/replica"


@dataclass
class Facts:
    """What the setup wrote: digests the cases aim their poison at."""

    digest: str = ""  # v1.0.0's manifest
    layers: list[dict[str, Any]] = field(default_factory=list)  # its layer descriptors
    sig_tag: str = ""
    sig_layers: list[dict[str, Any]] = field(default_factory=list)
    record_blobs: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)  # v1.0.0's record manifest digests
    other_record: str = ""  # v2.0.0's record: a real floe record of another subject
    v2_digest: str = ""  # v2.0.0's manifest: what latest-dev (and so status) names

    @property
    def fallback_tag(self) -> str:
        return self.digest.replace(":", "-", 1)


@dataclass
class Hostile:
    """The running setup: a workspace, its proxies and the real registry behind them."""

    ws: Workspace
    proxy: HostileServer
    replica: HostileServer
    storage: HostileServer  # another origin (a CDN) the registry may redirect blobs to
    upstream: RegistryServer
    facts: Facts

    def path(self, kind: str, ref: str = "", repo: str = REPO) -> str:
        return f"/v2/{repo}/{kind}/{ref}"

    def run(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> Measured:
        full = {**self.ws.env, "FLOE_DEBUG": "1", **(env or {})}
        return run_measured([FLOE, *args], cwd=self.ws.root, env=full, timeout=timeout)

    def event_count(self) -> int:
        return len(self.ws.event_kinds())

    def tags(self) -> set[str]:
        return (list_tags(self.upstream.uri(REPO))
                | {f"replica:{t}" for t in list_tags(self.upstream.uri(REPLICA_REPO))})

    def reset(self) -> None:
        for server in (self.proxy, self.replica, self.storage):
            server.clear()
            server.challenge = None

    def raw(self, reference: str) -> tuple[bytes, dict[str, Any]]:
        """A manifest from the real registry (bytes and parsed)."""
        req = urllib.request.Request(f"{self.upstream.url}{self.path('manifests', reference)}",
                                     headers={"Accept": ACCEPT})
        with urllib.request.urlopen(req, timeout=5) as resp:
            data = resp.read()
        return data, json.loads(data)


def _ok(proc: Measured) -> Measured:
    assert proc.returncode == 0, proc.output
    return proc


@contextmanager
def hostile_workspace(root: Path, upstream: RegistryServer) -> Iterator[Hostile]:
    """The setup described above, torn down on exit."""
    with ExitStack() as stack:
        proxy = stack.enter_context(HostileServer(upstream=upstream.url))
        replica = stack.enter_context(HostileServer(upstream=upstream.url))
        storage = stack.enter_context(HostileServer(upstream=upstream.url))
        uri = f"oci://{proxy.host}/{REPO}"
        registry = {"uri": uri, "plain_http": True}
        ws = Workspace(root, uri, {"registry": registry}, env=base_env(root))
        replicas = [{"uri": f"oci://{replica.host}/{REPLICA_REPO}", "plain_http": True}]
        host = Hostile(ws, proxy, replica, storage, upstream, Facts())
        _ok(host.run("artifact", "keygen", "keys/trusted"))
        plain = {"artifacts": {"registry": registry, "replicas": replicas}}
        (root / "plain.yaml").write_text(yaml.safe_dump(plain))
        ws.write_manifest(replicas=replicas, registry=registry | {"verification": {
            "enforcement": "enforce", "public_keys": ["keys/trusted.pub"]}})
        (root / "a.yaml").write_text("a: 1\n")
        (root / "b.bin").write_bytes(bytes(range(256)) * 64)
        _ok(host.run("artifact", "push", "a.yaml", "b.bin", "v1.0.0"))
        _ok(host.run("artifact", "sign", "v1.0.0", "--key", "keys/trusted.key"))
        _ok(host.run("platform", "promote", "v1.0.0", "--to", "dev"))
        _learn(host)
        (root / "c.txt").write_text("another artifact\n")
        _ok(host.run("artifact", "push", "c.txt", "v2.0.0"))
        _ok(host.run("platform", "promote", "v2.0.0", "--to", "dev",
                     env={"FLOE_MANIFEST": "plain.yaml"}))
        _ok(host.run("platform", "sync"))
        host.facts.v2_digest = _digest_of(host, "v2.0.0")
        host.facts.other_record = _records_of(host, host.facts.v2_digest)[0]
        yield host


def _learn(host: Hostile) -> None:
    facts = host.facts
    data, doc = host.raw("v1.0.0")
    facts.digest = "sha256:" + hashlib.sha256(data).hexdigest()
    facts.layers = doc["layers"]
    facts.sig_tag = facts.fallback_tag + ".sig"
    facts.sig_layers = host.raw(facts.sig_tag)[1]["layers"]
    facts.records = _records_of(host, facts.digest)
    facts.record_blobs = [host.raw(d)[1]["layers"][0]["digest"] for d in facts.records]


def _records_of(host: Hostile, digest: str) -> list[str]:
    """The floe records of ``digest``: they carry no tag; docker-registry has no referrers
    API, so they are listed in the ``sha256-<hex>`` fallback index."""
    index = host.raw(digest.replace(":", "-", 1))[1]
    return [str(e["digest"]) for e in index["manifests"]
            if str(e.get("artifactType", "")).startswith("application/vnd.floe.")]


def _digest_of(host: Hostile, tag: str) -> str:
    return "sha256:" + hashlib.sha256(host.raw(tag)[0]).hexdigest()

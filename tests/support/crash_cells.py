"""Crash-point cells: run a floe command killed after its Nth durable step, then again.

The hook is floe's own (``FLOE_TEST_CRASH_AFTER`` / ``FLOE_TEST_CRASH_LOG``, see
docs/crash-points.md). What a cell compares, before and after:

- the ledger: the kinds of the events the command appended;
- the registry: which tags changed (named with the version, rollback number, record id and
  digest taken out, so two runs of the same command compare equal) and how many referrers
  the ``sha256-<hex>`` fallback indexes gained.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from floe_ledger.adapters.registry.artifacts import push_files
from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.signing.cosign import sign
from support.tables import add_row
from support.workspace import ACCEPT, Workspace, list_tags

AFTER_VAR = "FLOE_TEST_CRASH_AFTER"
LOG_VAR = "FLOE_TEST_CRASH_LOG"
SIGKILLED = -9

_VERSION = re.compile(r"v\d+\.\d+\.\d+")
_PATTERNS = [(re.compile(r"-rollback-\d+"), "-rollback-{n}"),
             (re.compile(r"sha256-[0-9a-f]{64}"), "sha256-*")]
_ENV_INDEX = re.compile(r"PUT floe-.+-index")  # moved by every command: not a tag compared


def shape(text: str) -> str:
    """``text`` with what differs between two runs of one command taken out."""
    text = _VERSION.sub("{v}", text)
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


@dataclass(frozen=True)
class RegistryState:
    """Tag -> digest, and the entry count of each referrers fallback index."""

    tags: dict[str, str]
    referrers: dict[str, int]

    def changed_since(self, before: RegistryState, artifact: str) -> Counter[str]:
        """The tags written since ``before``, shaped, each with what it names."""
        return Counter(f"{shape(tag)}={'artifact' if digest == artifact else 'other'}"
                       for tag, digest in self.tags.items() if before.tags.get(tag) != digest)

    def referrers_since(self, before: RegistryState) -> int:
        return sum(n - before.referrers.get(tag, 0) for tag, n in self.referrers.items())


_MOVABLE = re.compile(r"latest-.*|sha256-[0-9a-f]{64}(\.sig)?")
_seen: dict[tuple[str, str], str] = {}  # (repository, immutable tag) -> digest, read once


def registry_state(uri: str) -> RegistryState:
    """Every tag (the environments' ``floe-<env>-index`` left out) of the repository, read
    with the stdlib.

    Tags floe never moves (versions, environment and rollback tags, records) are read once:
    ``floe audit verify --registry``, run in every cell, reports any that moved."""
    host, repo = uri.removeprefix("oci://").split("/", 1)
    tags, referrers = {}, {}
    for tag in sorted(list_tags(uri)):
        movable = _MOVABLE.fullmatch(tag) is not None
        if not movable and (uri, tag) in _seen:
            tags[tag] = _seen[(uri, tag)]
            continue
        req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}",
                                     headers={"Accept": ACCEPT})
        with urllib.request.urlopen(req, timeout=5) as resp:
            body, tags[tag] = resp.read(), resp.headers["Docker-Content-Digest"]
        if not movable:
            _seen[(uri, tag)] = tags[tag]
        if re.fullmatch(r"sha256-[0-9a-f]{64}", tag):
            referrers[tag] = len(json.loads(body).get("manifests") or [])
    return RegistryState(tags, referrers)


@dataclass(frozen=True)
class Snapshot:
    events: int
    registry: RegistryState


def snapshot(ws: Workspace) -> Snapshot:
    return Snapshot(len(ws.event_kinds()), registry_state(ws.registry_uri))


@dataclass
class Effect:
    """What one run of a command did: its steps, its events, its tags and referrers."""

    steps: list[str]
    events: list[str]
    tags: Counter[str]
    referrers: int


def effect(ws: Workspace, before: Snapshot, artifact: str, steps: list[str]) -> Effect:
    after = registry_state(ws.registry_uri)
    return Effect([shape(s) for s in steps], ws.event_kinds()[before.events:],
                  after.changed_since(before.registry, artifact),
                  after.referrers_since(before.registry))


def run_logged(ws: Workspace, args: list[str], log: Path, crash_after: int | None = None
               ) -> tuple[int, list[str], str]:
    """Run ``floe args`` with the step log (and the crash point); (exit code, steps, stderr)."""
    log.unlink(missing_ok=True)
    env = {LOG_VAR: str(log)}
    if crash_after is not None:
        env[AFTER_VAR] = str(crash_after)
    proc = ws.run(*args, env=env)
    steps = log.read_text().splitlines() if log.exists() else []
    return proc.returncode, steps, proc.stdout + proc.stderr


def expected_after(reference: Effect, k: int) -> tuple[list[str], Counter[str]]:
    """The events and tag names the first ``k`` steps of the reference run account for."""
    events: list[str] = []
    tags: Counter[str] = Counter()
    for step in reference.steps[:k]:
        where, _, what = step.partition(":")
        if where == "ledger":
            events += what.split(",")
        elif what.startswith("PUT ") and not (what.startswith("PUT <digest>")
                                              or _ENV_INDEX.fullmatch(what)):
            tags[what.removeprefix("PUT ").removesuffix(" (referrers index)")] += 1
        elif what.startswith("referrer "):
            tags["sha256-*"] += 1  # the fallback index of the subject (no referrers API)
    return events, tags


def tag_names(tags: Counter[str]) -> Counter[str]:
    return Counter({name.split("=", 1)[0]: n for name, n in tags.items()})


@dataclass
class Cell:
    """One row of the crash-point table (printed at the end of the run, support/tables.py)."""

    command: str
    step: int
    name: str
    backend: str
    died: str = "-"
    shown: str = "-"
    resumed: str = "-"
    verified: str = "-"

    def publish(self) -> None:
        """Add the row, or replace it with what the cell has reached so far."""
        add_row("Crash points (docs/crash-points.md)",
                f"{self.command} {self.backend} k={self.step}",
                {"killed after": self.name, "died": self.died, "status shows": self.shown,
                 "re-run": self.resumed, "verify": self.verified})


@dataclass
class Publisher:
    """Pushes and signs artifacts in-process (setup only: not what the cells test)."""

    ws: Workspace
    key: Path | None = None
    _registry: DistributionRegistry | None = field(default=None, init=False)

    @property
    def registry(self) -> DistributionRegistry:
        if self._registry is None:
            host, repo = self.ws.registry_uri.removeprefix("oci://").split("/", 1)
            self._registry = DistributionRegistry(host, repo, plain_http=True)
        return self._registry

    def keygen(self) -> Path:
        """An ECDSA P-256 pair as ``floe artifact keygen`` writes it; returns the .pub."""
        key = ec.generate_private_key(ec.SECP256R1())
        self.key = self.ws.root / "keys" / "crash.key"
        self.key.parent.mkdir(exist_ok=True)
        self.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        public = self.key.with_suffix(".pub")
        public.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return public

    def push(self, version: str) -> str:
        path = self.ws.root / version / "release.yaml"  # one file name, as a real artifact
        path.parent.mkdir()
        path.write_text(f"release: {version}\n")
        digest = push_files(self.registry, [path], version).digest
        if self.key is not None:
            host, repo = self.ws.registry_uri.removeprefix("oci://").split("/", 1)
            sign(self.registry, digest, self.key, f"{host}/{repo}")
        return digest

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()


def status_row(ws: Workspace, env: str) -> tuple[dict[str, Any], str]:
    """``floe platform status --env ENV -o json``: the row, and the warnings (stderr)."""
    proc = ws.run("platform", "status", "--env", env, "-o", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(json.loads(proc.stdout)["environments"][0]), proc.stderr

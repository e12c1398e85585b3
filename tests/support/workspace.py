"""A workspace for end-to-end tests: a directory with a manifest.yaml and a ledger, and the
`floe` command run in it as a subprocess, the way a user runs it."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml

from support.registry_server import RegistryServer

FLOE = str(Path(sys.executable).parent / "floe")


@dataclass
class Workspace:
    """A directory with a manifest.yaml, a ledger, and a registry repository."""

    root: Path
    registry_uri: str
    artifacts: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def postgres(self) -> bool:
        return self.env.get("FLOE_LEDGER_URL", "").startswith("postgresql://")

    def write_manifest(self, **changes: Any) -> Path:
        doc = {"artifacts": {**self.artifacts, **changes}}
        path = self.root / "manifest.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def run(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full_env = {**self.env, **(env or {})}
        return subprocess.run([FLOE, *args], cwd=self.root, env=full_env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def json(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
        proc = self.run(*args, "-o", "json", env=env)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"stdout is not JSON (exit {proc.returncode}):\n"
                                 f"{proc.stdout}\n--- stderr ---\n{proc.stderr}") from None

    def push(self, tag: str, content: str = "", name: str = "bundle.yaml") -> str:
        """Publish ``name`` as release ``tag``: every release holds a file of that name, as
        a real artifact does, so a rollback sees it changed, not removed and added."""
        path = self.root / "releases" / tag / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content or f"release: {tag}\n")
        code, out = self.json("artifact", "push", str(path), tag)
        assert code == 0, out
        return str(out["digest"])

    @property
    def ledger(self) -> Path:
        return self.root / ".floe" / "ledger.sqlite"

    def _rows(self) -> list[tuple[str, bytes]]:
        """(topic, state) of every stored event, in ledger order, from either backend."""
        if self.postgres:

            with psycopg.connect(self.env["FLOE_LEDGER_URL"]) as conn:
                rows = conn.execute("SELECT topic, state FROM ledger_events "
                                    "ORDER BY notification_id").fetchall()
            return [(t, bytes(st)) for t, st in rows]
        if not self.ledger.exists():
            return []
        with sqlite3.connect(self.ledger) as conn:
            return list(conn.execute("SELECT topic, state FROM stored_events ORDER BY rowid"))

    def event_kinds(self) -> list[str]:
        return [topic.split("/")[-1].split(".")[0] for topic, _ in self._rows()]

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(state) for topic, state in self._rows()
                if topic.split("/")[-1].split(".")[0] == kind]


def base_env(root: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "USER": "ci-runner",
        "DOCKER_CONFIG": str(root / ".docker"),
        "NO_COLOR": "1",
        "LANG": "C.UTF-8",
    }


def docker_login(root: Path, host: str, user: str, password: str) -> dict[str, str]:
    """A DOCKER_CONFIG dir holding one credential, as `docker login` writes it."""
    cfg = root / f".docker-{user}"
    cfg.mkdir(exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return {"DOCKER_CONFIG": str(cfg)}


def make_workspace(root: Path, server: RegistryServer, repo: str = "e2e/app") -> Workspace:
    uri = server.uri(repo)
    ws = Workspace(root, uri, {"registry": {"uri": uri, "plain_http": True}}, env=base_env(root))
    ws.write_manifest()
    return ws


ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def _split(registry_uri: str) -> tuple[str, str]:
    host, repo = registry_uri.removeprefix("oci://").split("/", 1)
    return host, repo


def raw_manifest(registry_uri: str, reference: str,
                 auth: tuple[str, str] | None = None) -> tuple[bytes, str, str]:
    """(bytes, Content-Type, Docker-Content-Digest) read with the stdlib, an independent client."""

    host, repo = _split(registry_uri)
    headers = {"Accept": ACCEPT}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{reference}",
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.read(), resp.headers["Content-Type"], resp.headers["Docker-Content-Digest"]


def list_tags(registry_uri: str) -> set[str]:
    """The repository's tags, less floe's environment indexes (``floe-<env>-index``, rewritten
    by every command that writes to the ledger, refusals included: not artifact tags)."""
    return {t for t in all_tags(registry_uri) if not re.fullmatch(r"floe-.+-index", t)}


def all_tags(registry_uri: str) -> set[str]:
    """Every tag of the repository, read with the stdlib."""
    host, repo = _split(registry_uri)
    try:
        with urllib.request.urlopen(f"http://{host}/v2/{repo}/tags/list", timeout=5) as resp:
            tags = json.loads(resp.read()).get("tags") or []
            return set(tags)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return set()
        raise


def copy_tag(registry_uri: str, source: str, dest: str) -> None:
    """Copy a manifest to another tag with the stdlib (simulates a tool outside floe)."""

    data, media_type, _ = raw_manifest(registry_uri, source)
    host, repo = _split(registry_uri)
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{dest}", data=data,
                                 method="PUT", headers={"Content-Type": media_type})
    urllib.request.urlopen(req, timeout=5).close()


def workspace_on(root: Path, uri: str) -> Workspace:
    """A checkout in ``root`` whose manifest names only the plain-HTTP registry ``uri``."""
    ws = Workspace(root, uri, {"registry": {"uri": uri, "plain_http": True}}, env=base_env(root))
    ws.write_manifest()
    return ws

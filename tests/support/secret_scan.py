"""Look for secrets everywhere floe writes: every form an HTTP client or an encoder would give
them, in bytes from any source, with a table of what was scanned.

    scanner = LeakScanner([Secret("registry password", pw, user="ci"), Secret("token", jwt)])
    scanner.scan("stdout", "floe whoami", proc.stdout)
    for label, data in registry_objects(RegistryReader("http://127.0.0.1:5000", ("ci", pw))):
        scanner.scan("registry objects", label, data)
    print(scanner.table()); assert not scanner.hits
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import psycopg
from psycopg import sql

from support.cli_runs import Run
from support.tables import add_row
from support.workspace import ACCEPT

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


@dataclass(frozen=True)
class Secret:
    """A secret value; ``user`` makes its HTTP Basic form (``base64(user:value)``) a needle."""

    name: str
    value: str
    user: str | None = None


def _b64(raw: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(raw.encode()).decode().rstrip("=")


def forms(secret: Secret) -> dict[str, bytes]:
    """Every way the value could be written: raw, JSON- and URL-escaped, base64 (standard and
    URL-safe), the Basic credential, each dot-separated part of a JWT, and each piece a URL
    parser would cut it into at an unencoded ``/ ? # @ :`` (8 bytes or more each)."""
    v = secret.value
    found = {"raw": v, "json": json.dumps(v)[1:-1], "url": quote(v, safe=""),
             "url+": quote_plus(v), "base64": _b64(v), "base64url": _b64(v, urlsafe=True)}
    if secret.user is not None:
        found["basic"] = _b64(f"{secret.user}:{v}")
        found["basic-url"] = _b64(f"{secret.user}:{v}", urlsafe=True)
    pieces = re.split(r"[/?#@:]", v)  # where a URL parser cuts an unencoded password
    if len(pieces) > 1:
        found.update({f"piece {n}": piece for n, piece in enumerate(pieces, 1)})
    parts = v.split(".")
    if len(parts) == 3:
        found.update({f"jwt-{name}": part for name, part in
                      zip(("header", "claims", "signature"), parts, strict=True)})
    unique: dict[str, bytes] = {}
    for label, text in found.items():
        data = text.encode()
        if len(data) >= 8 and data not in unique.values():
            unique[label] = data
    return unique


@dataclass
class Source:
    items: int = 0
    bytes: int = 0
    hits: list[str] = field(default_factory=list)


class LeakScanner:
    """Counts what each source held and where any form of any secret turned up."""

    def __init__(self, secrets: list[Secret]) -> None:
        self.needles = [(f"{s.name} ({label})", data) for s in secrets
                        for label, data in forms(s).items()]
        self.sources: dict[str, Source] = {}

    def scan(self, source: str, label: str, data: bytes | str) -> None:
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
        entry = self.sources.setdefault(source, Source())
        entry.items += 1
        entry.bytes += len(raw)
        for name, needle in self.needles:
            at = raw.find(needle)
            if at >= 0:
                context = raw[max(0, at - 80):at + len(needle) + 40]
                entry.hits.append(f"{name} in {label}: ...{context!r}...")

    @property
    def hits(self) -> list[str]:
        return [f"{src}: {hit}" for src, entry in self.sources.items() for hit in entry.hits]

    def add_rows(self, table: str) -> None:
        """One row per source in the suite's result table ``table`` (support.tables)."""
        for name, entry in self.sources.items():
            add_row(table, name, {"items": entry.items, "bytes scanned": entry.bytes,
                                  "hits": len(entry.hits)})

    def table(self) -> str:
        rows = [("source scanned", "items", "bytes", "hits")]
        rows += [(name, str(e.items), str(e.bytes), str(len(e.hits)))
                 for name, e in self.sources.items()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [" | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                 for r in rows]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(lines)


# --- the registry, read through its HTTP API ------------------------------------------------

class RegistryReader:
    """GETs against a registry with HTTP Basic credentials (an independent stdlib client)."""

    def __init__(self, base_url: str, auth: tuple[str, str]) -> None:
        self.base = base_url.rstrip("/")
        self.header = "Basic " + base64.b64encode(":".join(auth).encode()).decode()

    def get(self, path: str, accept: str = "*/*") -> tuple[bytes, str, str] | None:
        """(body, Content-Type, Docker-Content-Digest), or None for a 404."""
        req = urllib.request.Request(self.base + path,
                                     headers={"Authorization": self.header, "Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return (resp.read(), resp.headers.get("Content-Type", ""),
                        resp.headers.get("Docker-Content-Digest", ""))
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def json(self, path: str) -> Any:
        got = self.get(path, "application/json")
        return json.loads(got[0]) if got else {}

    def put_manifest(self, repo: str, tag: str, data: bytes, media_type: str) -> None:
        req = urllib.request.Request(f"{self.base}/v2/{repo}/manifests/{tag}", data=data,
                                     method="PUT", headers={"Authorization": self.header,
                                                            "Content-Type": media_type})
        urllib.request.urlopen(req, timeout=10).close()


def _walk_manifest(doc: dict[str, Any], manifests: list[str], blobs: set[str]) -> None:
    for child in doc.get("manifests") or []:
        manifests.append(child["digest"])
    for blob in [doc.get("config") or {}, *(doc.get("layers") or [])]:
        if blob.get("digest"):
            blobs.add(blob["digest"])


def registry_objects(reader: RegistryReader) -> Iterator[tuple[str, bytes]]:
    """Every tag list, manifest (by tag, by digest, index children, referrers) and blob of
    every repository in the registry's catalog."""
    for repo in reader.json("/v2/_catalog?n=1000").get("repositories") or []:
        tags = reader.json(f"/v2/{repo}/tags/list?n=1000").get("tags") or []
        yield f"{repo} tags", json.dumps(tags).encode()
        pending = [*tags]
        seen: set[str] = set()
        blobs: set[str] = set()
        asked: set[str] = set()
        while pending:
            ref = pending.pop()
            if ref in seen:
                continue
            seen.add(ref)
            got = reader.get(f"/v2/{repo}/manifests/{ref}", ACCEPT + ", " + INDEX_TYPES[1])
            if got is None:
                continue
            yield f"{repo}:{ref}", got[0]
            _walk_manifest(json.loads(got[0]), pending, blobs)
            digest = got[2] or ref
            if digest.startswith("sha256:") and digest not in asked:
                asked.add(digest)
                referrers = reader.get(f"/v2/{repo}/referrers/{digest}", INDEX_TYPES[0])
                if referrers is not None:
                    yield f"{repo} referrers of {digest}", referrers[0]
                    _walk_manifest(json.loads(referrers[0]), pending, blobs)
        for digest in sorted(blobs):
            got = reader.get(f"/v2/{repo}/blobs/{digest}")
            assert got is not None, f"{repo}@{digest} is referenced but missing"
            yield f"{repo}@{digest}", got[0]


# --- ledgers and files -----------------------------------------------------------------------

def _cells(rows: list[tuple[Any, ...]]) -> bytes:
    return b"\n".join(b"\t".join(c if isinstance(c, bytes) else bytes(c)
                                 if isinstance(c, memoryview) else str(c).encode()
                                 for c in row) for row in rows)


def sqlite_rows(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every row of every table of a SQLite database, one item per table."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            yield f"{path.name}:{table}", _cells(
                conn.execute(f"SELECT * FROM {quoted}").fetchall())


def postgres_rows(url: str) -> Iterator[tuple[str, bytes]]:
    """Every row of every table outside the system schemas, one item per table."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE' ORDER BY 1, 2").fetchall()
        for schema, table in tables:
            query = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema),
                                                          sql.Identifier(table))
            yield f"{schema}.{table}", _cells(conn.execute(query).fetchall())


def files_under(root: Path, skip: tuple[Path, ...] = ()) -> Iterator[tuple[Path, bytes]]:
    """Every regular file under ``root`` (not following symlinks), except under ``skip``."""
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if any(path == s or s in path.parents for s in skip):
            continue
        yield path, path.read_bytes()


def is_sqlite(data: bytes) -> bool:
    return data.startswith(b"SQLite format 3\x00")


def scan_everything(scanner: LeakScanner, *, runs: list[Run], root: Path,
                    postgres_url: str | None, registry: RegistryReader,
                    otlp_bodies: list[bytes], webhooks: list[tuple[str, bytes, dict[str, str]]],
                    unscanned_header: str) -> None:
    """What the runs printed, every file under ``root`` (not the ``.docker*`` credential
    stores the test wrote) and the SQLite rows in them, the PostgreSQL rows, every registry
    object, every OTLP request, every webhook body and header but ``unscanned_header``."""
    for run in runs:
        scanner.scan("stdout", run.label, run.stdout)
        scanner.scan("stderr (logs, console spans)", run.label, run.stderr)
    skip = tuple(p for p in root.iterdir() if p.name.startswith(".docker"))
    for path, data in files_under(root, skip):
        where = ("ledger and caches (.floe)" if ".floe" in path.parts else
                 "state dir (XDG_STATE_HOME)" if "xdg-state" in path.parts else
                 "exports" if "exports" in path.parts else "other files floe wrote")
        scanner.scan(where, str(path), data)
        if is_sqlite(data) and not path.name.endswith(("-wal", "-shm", "-journal")):
            for label, rows in sqlite_rows(path):
                scanner.scan(f"{where}: SQLite rows", label, rows)
    if postgres_url:
        for label, rows in postgres_rows(postgres_url):
            scanner.scan("ledger: PostgreSQL rows", label, rows)
    for label, data in registry_objects(registry):
        scanner.scan("registry objects", label, data)
    for body in otlp_bodies:
        scanner.scan("OTLP export (spans, attributes, events)", "request", body)
    for path, body, headers in webhooks:
        scanner.scan("webhook bodies", path, body)
        shown = "\n".join(f"{k}: {v}" for k, v in headers.items() if k != unscanned_header)
        scanner.scan("webhook headers (not the signature)", path, shown)

"""Push content with the raw OCI distribution API (the stdlib, not floe): for artifacts no
well-behaved client would write, e.g. layers titled ``../x``."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
TITLE = "org.opencontainers.image.title"
EMPTY = {"mediaType": "application/vnd.oci.empty.v1+json",
         "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(), "size": 2}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(base: str, repo: str, data: bytes) -> str:
    """One monolithic upload (POST, then PUT ?digest=); returns the digest."""
    digest = sha256(data)
    start = urllib.request.Request(f"{base}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
    with urllib.request.urlopen(start, timeout=10) as resp:
        location = resp.headers["Location"]
    target = location if location.startswith("http") else base + location
    sep = "&" if "?" in target else "?"
    put = urllib.request.Request(f"{target}{sep}digest={digest}", data=data, method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(put, timeout=10).close()
    return digest


def push_manifest(base: str, repo: str, tag: str, doc: dict[str, Any]) -> str:
    data = json.dumps(doc).encode()
    req = urllib.request.Request(f"{base}/v2/{repo}/manifests/{tag}", data=data, method="PUT",
                                 headers={"Content-Type": OCI_MANIFEST})
    urllib.request.urlopen(req, timeout=10).close()
    return sha256(data)


def push_titled(base: str, repo: str, tag: str, files: list[tuple[Any, bytes]]) -> str:
    """An artifact whose layers carry the given titles (any JSON value) and contents."""
    push_blob(base, repo, b"{}")
    layers = [{"mediaType": "application/octet-stream", "digest": push_blob(base, repo, data),
               "size": len(data), "annotations": {TITLE: title}} for title, data in files]
    return push_manifest(base, repo, tag, {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                           "artifactType": "application/vnd.floe.bundle.v1",
                                           "config": EMPTY, "layers": layers})

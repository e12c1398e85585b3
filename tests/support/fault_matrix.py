"""The fault matrix's rows, columns, expected exit codes and table (issue 13, item 1).

Rows are faults the proxy (:mod:`support.fault_proxy`) injects; columns are the steps of
``floe platform promote v1.0.0 --to dev`` whose request is faulted. Each cell is run by
:mod:`support.fault_cell`; the table is printed by ``tests/e2e/conftest.py`` and kept in
``docs/fault-matrix.md``.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

VERSION = "v1.0.0"
ENV = "dev"
ENV_TAG, LATEST_TAG = f"{VERSION}-{ENV}", f"latest-{ENV}"
TIMEOUT_S = 1.5  # artifacts.registry.timeout_seconds and the webhook's timeout_seconds
DELAY_S = 2.2  # the proxy's "timeout" fault holds the answer this long (> TIMEOUT_S)
HOOK_PATH = "/hook"
PROMOTION_TYPE = "application/vnd.floe.promotion.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"


@dataclass(frozen=True)
class Step:
    """A matrix column: the request (on ``where``) a fault hits."""

    where: str  # primary | replica | webhook
    method: str
    path: str
    nth: int = 1
    meaning: str = ""


@dataclass(frozen=True)
class Fault:
    """A matrix row: the proxy's fault and how many matching requests it hits."""

    proxy: str
    times: int | None  # None: every matching request (persistent)
    meaning: str = ""

    @property
    def kind(self) -> str:
        if self.proxy == "hold":
            return "in flight"
        return "persistent" if self.times is None else "transient"


_DIGEST_TAG = r"/manifests/sha256-[0-9a-f]{64}"
RECORD_PUTS = r"/manifests/(sha256:[0-9a-f]{64}|sha256-[0-9a-f]{64})$"
STEPS: dict[str, Step] = {
    "resolve source": Step("primary", "HEAD|GET", rf"/manifests/{VERSION}$",
                           meaning=f"GET of the source (release) tag {VERSION} (read with "
                           "its manifest)"),
    "signature fetch": Step("primary", "GET", _DIGEST_TAG + r"\.sig$",
                            meaning="GET of the cosign signature manifest (key-based policy)"),
    "env tag PUT": Step("primary", "PUT", rf"/manifests/{ENV_TAG}$", meaning=f"PUT {ENV_TAG}"),
    "latest PUT": Step("primary", "PUT", rf"/manifests/{LATEST_TAG}$",
                       meaning=f"PUT {LATEST_TAG}"),
    "record PUT": Step("primary", "PUT", RECORD_PUTS,
                       meaning="PUTs of the promotion record: its manifest by digest, then "
                       "the referrers index (it has no tag of its own)"),
    "replica write": Step("replica", "PUT", "/v2/",
                          meaning="PUTs on the replica (the first is a blob upload)"),
    "webhook": Step("webhook", "POST", f"^{HOOK_PATH}$",
                    meaning="POST of the promote event to the receiver"),
}
FAULTS: dict[str, Fault] = {
    "down": Fault("down", None, "connection closed without an answer, every time"),
    "500": Fault("500", None, "HTTP 500, every time"),
    "429": Fault("429", 1, "HTTP 429 with Retry-After: 1, once"),
    "timeout": Fault("timeout", 1, f"answer held {DELAY_S} s (> the {TIMEOUT_S} s timeout), "
                     "once; the server did the work"),
    "cut": Fault("cut", None, "answer cut halfway (full Content-Length, half the body), "
                 "every time; the server did the work"),
    "SIGKILL": Fault("hold", 1, "floe is SIGKILLed while the proxy holds the request "
                     "(forwarded, answer never sent)"),
}
SIDE_STEPS = ("replica write", "webhook")  # FR-030, FR-043: never fail the promotion
STOPPED_AT = {  # a promotion left open at the step: (TagWritten events, checks recorded)
    "signature fetch": ((0,), False), "env tag PUT": ((0,), True),
    "latest PUT": ((0,), True), "record PUT": ((0,), True), "replica write": ((0,), True),
}
"""Proves the fault struck where its column says: the signature verdict is saved with the
gate results; both tags' TagWritten with the completion, after both tags and the record are
written (issue 15: one commit fewer per promotion, docs/crash-points.md), so a promotion
stopped at any tag, record or replica step is open with no TagWritten."""


def expected_exit(fault: str, step: str) -> int | None:
    """The documented exit code (docs/exit-codes.md); None: the process is killed."""
    if fault == "SIGKILL":
        return None
    if FAULTS[fault].times is not None or step in SIDE_STEPS:
        return 0  # retried within the bounds; a replica or webhook failure is a warning
    return 5


# ---- a release pushed with the stdlib, an independent client -------------------------------

def _request(url: str, *, method: str = "GET", data: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _blob(host: str, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    status, headers, _ = _request(f"http://{host}/v2/{repo}/blobs/uploads/", method="POST")
    assert status == 202, status
    location = headers["Location"]
    location = location if location.startswith("http") else f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    status, _, _ = _request(f"{location}{sep}digest={digest}", method="PUT", data=data,
                            headers={"Content-Type": "application/octet-stream"})
    assert status == 201, status
    return digest


def push_release(host: str, repo: str, content: bytes) -> str:
    """``VERSION`` in ``host/repo``: an OCI artifact (empty config, one layer); its digest."""
    layer = _blob(host, repo, content)
    config = _blob(host, repo, b"{}")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.floe.bundle.v1",
        "config": {"mediaType": OCI_EMPTY, "digest": config, "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer,
                    "size": len(content),
                    "annotations": {"org.opencontainers.image.title": "bundle.yaml"}}],
    }, separators=(",", ":")).encode()
    status, _, _ = _request(f"http://{host}/v2/{repo}/manifests/{VERSION}", method="PUT",
                            data=manifest, headers={"Content-Type": OCI_MANIFEST})
    assert status == 201, status
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def tag_digest(host: str, repo: str, tag: str) -> str | None:
    """What ``tag`` names in the registry itself (not through the proxy), or None."""
    status, headers, _ = _request(f"http://{host}/v2/{repo}/manifests/{tag}", method="HEAD",
                                  headers={"Accept": OCI_MANIFEST})
    return headers.get("Docker-Content-Digest") if status == 200 else None


def all_tags(host: str, repo: str) -> list[str]:
    status, _, body = _request(f"http://{host}/v2/{repo}/tags/list")
    return list(json.loads(body).get("tags") or []) if status == 200 else []


def promotion_records(host: str, repo: str, digest: str) -> list[str]:
    """Digests of the promotion records the referrers fallback index lists for ``digest``."""
    status, _, body = _request(
        f"http://{host}/v2/{repo}/manifests/{digest.replace(':', '-')}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"})
    if status != 200:
        return []
    return [m["digest"] for m in json.loads(body).get("manifests") or []
            if m.get("artifactType") == PROMOTION_TYPE]


# ---- the table ----------------------------------------------------------------------------

def render_table(cells: dict[tuple[str, str], str]) -> str:
    """Markdown: one row per fault, one column per step; missing cells are blank."""
    head = ["fault (kind)", *STEPS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for fault, spec in FAULTS.items():
        row = [f"{fault} ({spec.kind})", *(cells.get((fault, step), "") for step in STEPS)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)

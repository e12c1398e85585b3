"""The real cosign 2.2.3 keyless `.sig` signature in tests/data/cosign-keyless (its README
says where it comes from), laid out in a real registry by the raw distribution API.

What is pushed:

* the signed OCI image index, byte for byte, under a release tag: the registry's digest of
  it is the digest the signature names (checked);
* the `.sig` manifest (the recorded content, compact JSON as cosign writes it), its config
  blob and its payload blob, under ``sha256-<hex>.sig``.

The index's two child manifests were never published with the sample. CNCF distribution
2.8 refuses an index whose children it does not hold (``MANIFEST_BLOB_UNKNOWN``), and no
other bytes have those digests, so before the push the registry's storage is told that the
repository holds them: a revision link per child and a stand-in blob under the child's
digest, as the filesystem driver stores a manifest. floe never reads an index's children;
if anything did, it would get bytes that do not match the digest and fail loudly.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from floe_ledger.domain.model.oci import Manifest, sha256_digest
from support.registry_server import RegistryServer

DATA = Path(__file__).resolve().parents[1] / "data" / "cosign-keyless"
INDEX = (DATA / "signed-index.json").read_bytes()
PAYLOAD = (DATA / "payload.json").read_bytes()
CONFIG = (DATA / "sig-config.json").read_bytes()
TRUSTED_ROOT = DATA / "trusted_root.json"
DIGEST = "sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321"
SIG_TAG = DIGEST.replace(":", "-") + ".sig"
VERSION = "v0.0.30"
ISSUER = "https://token.actions.githubusercontent.com"
SUBJECT = ("https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/"
           "release.yaml@refs/tags/v0.0.30")
SUBJECT_REGEX = r"https://github\.com/salrashid123/go-bazel-github-workflow/.*"
OTHER_REGEX = r"https://github\.com/acme/deploy/.*"
DOCKER_REFERENCE = "index.docker.io/salrashid123/server_image"
INTEGRATED_TIME = 1772216446
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Sample:
    """One real keyless `.sig` signature in tests/data (its README gives the provenance)."""

    folder: str
    digest: str
    subject: str
    integrated_time: int

    def store(self, registry: Any) -> None:
        """Its `.sig` manifest, payload and config through floe's ``Registry`` protocol."""
        root = DATA.parent / self.folder
        payload = (root / "payload.json").read_bytes()
        registry.put_blob(payload, "application/vnd.dev.cosign.simplesigning.v1+json")
        registry.put_blob((root / "sig-config.json").read_bytes(), "application/octet-stream")
        data = compact(json.loads((root / "sig-manifest.json").read_bytes()))
        registry.put_manifest(self.digest.replace(":", "-") + ".sig",
                              Manifest(sha256_digest(data), OCI_MANIFEST, data))


_RELEASE = "https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml"
SAMPLES = [
    Sample("cosign-keyless", DIGEST, f"{_RELEASE}@refs/tags/v0.0.30", INTEGRATED_TIME),
    Sample("cosign-keyless-v0.0.26",
           "sha256:120ef883bd7612aee0a100297def41014bf3e1aa321a0eaf4d0ebd9855d39a11",
           f"{_RELEASE}@refs/tags/v0.0.26", 1771336509),
]


def sig_manifest_doc() -> dict[str, Any]:
    """The recorded `.sig` manifest as a dict (a fresh copy to tamper with)."""
    return copy.deepcopy(json.loads((DATA / "sig-manifest.json").read_bytes()))


def annotations(doc: dict[str, Any]) -> dict[str, str]:
    """The (only) signature layer's annotations of ``doc``, for editing in place."""
    result: dict[str, str] = doc["layers"][0]["annotations"]
    return result


def compact(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def lay_out(server: RegistryServer, repository: str, *, sig: dict[str, Any] | None = None,
            payload: bytes = PAYLOAD) -> None:
    """Push the signed index under ``VERSION`` and the `.sig` manifest (``sig``, default the
    recorded one) with ``payload`` as its layer blob (a changed payload gets its own digest
    in the layer descriptor)."""
    doc = _with_payload(sig, payload)
    _hold_children(server, repository)
    with httpx.Client(base_url=f"{server.url}/v2/{repository}", timeout=10) as client:
        got = _put_manifest(client, VERSION, INDEX, OCI_INDEX)
        assert got == DIGEST, f"the registry stored the index as {got}, not {DIGEST}"
        for blob in (payload, CONFIG):
            _put_blob(client, blob)
        _put_manifest(client, SIG_TAG, compact(doc), OCI_MANIFEST)


def _with_payload(sig: dict[str, Any] | None, payload: bytes) -> dict[str, Any]:
    """``sig`` (default: the recorded one) whose layer descriptor names ``payload``."""
    doc = sig if sig is not None else sig_manifest_doc()
    if payload != PAYLOAD:
        doc["layers"][0]["digest"] = sha256_digest(payload)
        doc["layers"][0]["size"] = len(payload)
    return doc


def _hold_children(server: RegistryServer, repository: str) -> None:
    """Make distribution's filesystem storage hold the index's children (see module doc)."""
    v2 = server.root / "data" / "docker" / "registry" / "v2"
    for child in json.loads(INDEX)["manifests"]:
        hex_digest = child["digest"].removeprefix("sha256:")
        blob = v2 / "blobs" / "sha256" / hex_digest[:2] / hex_digest / "data"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(b'{"stand-in": "child manifest not published with the sample"}')
        link = (v2 / "repositories" / repository / "_manifests" / "revisions" / "sha256"
                / hex_digest / "link")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.write_text(child["digest"])


def _put_manifest(client: httpx.Client, reference: str, data: bytes, media_type: str) -> str:
    resp = client.put(f"/manifests/{reference}", content=data,
                      headers={"Content-Type": media_type})
    assert resp.status_code == 201, resp.text
    return str(resp.headers["Docker-Content-Digest"])


def _put_blob(client: httpx.Client, data: bytes) -> None:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = client.post("/blobs/uploads/")
    assert start.status_code == 202, start.text
    # httpx's params= would replace the upload's _state query: merge into the URL instead
    url = httpx.URL(start.headers["Location"]).copy_merge_params({"digest": digest})
    done = client.put(url, content=data, headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text


def store_sig(registry: Any, *, sig: dict[str, Any] | None = None, payload: bytes = PAYLOAD,
              digest: str = DIGEST) -> None:
    """Store the `.sig` manifest of ``digest`` through floe's ``Registry`` protocol (any
    registry: the verifier reads only the `.sig` tag and its blobs)."""
    doc = _with_payload(sig, payload)
    registry.put_blob(payload, "application/vnd.dev.cosign.simplesigning.v1+json")
    registry.put_blob(CONFIG, "application/vnd.oci.image.config.v1+json")
    data = compact(doc)
    registry.put_manifest(digest.replace(":", "-") + ".sig",
                          Manifest(sha256_digest(data), OCI_MANIFEST, data))


def _flip_base64(text: str, at: int) -> str:
    """``text`` with the base64 character at ``at`` changed (still valid base64)."""
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


SET_REFUSED = "Rekor SignedEntryTimestamp (logIndex 1004096555) does not verify"
# case: what the refusal names ("" for a change that must not matter)
TAMPERINGS = {
    "set": SET_REFUSED,
    "integrated-time": SET_REFUSED,
    "integrated-time-earlier": SET_REFUSED,
    "log-index": "Rekor SignedEntryTimestamp (logIndex 1004096556) does not verify",
    "log-id": SET_REFUSED,
    "body": SET_REFUSED,
    "certificate": "certificate does not chain to a Fulcio CA of the trust root",
    "intermediate-as-leaf": "certificate does not chain to a Fulcio CA of the trust root",
    "not-pem": "dev.sigstore.cosign/certificate annotation is not a PEM certificate",
    "signature": "Rekor entry logs another signature than the layer's",
    "payload": "Rekor entry logs hash",
    "no-bundle": "no Rekor bundle (dev.sigstore.cosign/bundle annotation)",
    "bundle-not-set": "is not a cosign SignedEntryTimestamp bundle",
    "media-type": "layer media type 'application/octet-stream' is not",
    "chain": "",
}


def tampered(case: str) -> tuple[dict[str, Any], bytes, str]:
    """(the `.sig` manifest, the payload, what the refusal names) after one change."""
    doc, payload = sig_manifest_doc(), PAYLOAD
    notes = annotations(doc)
    bundle = json.loads(notes["dev.sigstore.cosign/bundle"])
    entry = bundle["Payload"]
    if case == "set":
        bundle["SignedEntryTimestamp"] = _flip_base64(bundle["SignedEntryTimestamp"], 20)
    elif case in ("integrated-time", "integrated-time-earlier"):
        entry["integratedTime"] += 1 if case == "integrated-time" else -1
    elif case == "log-index":
        entry["logIndex"] += 1
    elif case == "log-id":
        entry["logID"] = hashlib.sha256(b"another log").hexdigest()
    elif case == "body":
        entry["body"] = _flip_base64(entry["body"], 200)
    elif case == "certificate":
        lines = notes["dev.sigstore.cosign/certificate"].split("\n")
        lines[-4] = _flip_base64(lines[-4], 10)  # inside the issuer's signature
        notes["dev.sigstore.cosign/certificate"] = "\n".join(lines)
    elif case == "intermediate-as-leaf":
        chain = notes["dev.sigstore.cosign/chain"]
        notes["dev.sigstore.cosign/certificate"] = chain[:chain.index("-----END") + 26]
    elif case == "not-pem":
        notes["dev.sigstore.cosign/certificate"] = "not a certificate"
    elif case == "signature":
        notes["dev.cosignproject.cosign/signature"] = _flip_base64(
            notes["dev.cosignproject.cosign/signature"], 30)
    elif case == "payload":
        payload = payload.replace(b"salrashid123/server_image", b"salrashid123/server_imagf")
    elif case == "no-bundle":
        del notes["dev.sigstore.cosign/bundle"]
    elif case == "bundle-not-set":
        bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}
    elif case == "media-type":
        doc["layers"][0]["mediaType"] = "application/octet-stream"
    elif case == "chain":
        notes["dev.sigstore.cosign/chain"] = "not used: the chain comes from the trust root"
    if "dev.sigstore.cosign/bundle" in notes:
        notes["dev.sigstore.cosign/bundle"] = json.dumps(bundle, separators=(",", ":"))
    return doc, payload, TAMPERINGS[case]

"""The hostile-registry matrix: for each case, one registry answer the proxy poisons, the
floe command that meets it, and the documented exit code it must end with.

Exit codes (docs/exit-codes.md): 14 content that does not match its digest or descriptor,
or a malformed manifest/record; 5 an answer that is too large, too slow, endless, a
redirect loop or not what the API defines; 0 where the poison is harmless and the command
says so (a record that cannot be trusted is skipped with a warning, never folded).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from support.hostile_setup import REPLICA_REPO, Hostile

OCI = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
MIB = 1024 * 1024
GIB = 1024 * MIB

PROMOTE = ("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
DRY_PROMOTE = (*PROMOTE, "--dry-run")
STATUS = ("platform", "status")
AUDIT = ("audit", "verify", "--registry")
PULL = ("artifact", "pull", "v1.0.0", "-d", "{dest}")
VERIFY = ("artifact", "verify", "v1.0.0", "--no-cache")
SYNC = ("platform", "sync")
SYNC_CHECK = ("platform", "sync", "--check")


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Case:
    """One poisoned answer and what floe must do about it."""

    name: str
    command: tuple[str, ...]
    poison: Callable[[Hostile], None]
    expect: int
    says: str = ""  # the output (stdout+stderr) must say this
    plain: bool = False  # run with plain.yaml (no signature verification)
    env: tuple[tuple[str, str], ...] = ()  # more environment for the command
    refusal_recorded: bool = False  # promote records its refusal (one PromotionRejected)


# ---- poisons --------------------------------------------------------------------------------

def manifest(ref: Callable[[Hostile], str], body: bytes, *, content_type: str = OCI,
             digest: str | None = None, method: str = "GET", **kw: object) -> Callable[
                 [Hostile], None]:
    """GET (or HEAD) manifests/<ref> answers ``body``; Docker-Content-Digest is ``digest``
    (default: the body's own, i.e. consistent)."""
    def poison(h: Hostile) -> None:
        headers = {"Content-Type": content_type, "Docker-Content-Digest": digest or sha(body)}
        h.proxy.route(method, h.path("manifests", ref(h)), 200, headers, body, **kw)
    return poison


def blob(digest: Callable[[Hostile], str], status: int = 200, body: bytes = b"",
         headers: dict[str, str] | None = None, **kw: object) -> Callable[[Hostile], None]:
    def poison(h: Hostile) -> None:
        h.proxy.route("GET", h.path("blobs", digest(h)), status, headers or {}, body, **kw)
    return poison


def both(*poisons: Callable[[Hostile], None]) -> Callable[[Hostile], None]:
    def poison(h: Hostile) -> None:
        for p in poisons:
            p(h)
    return poison


def tag_pointing_at(tag: str, body: bytes) -> Callable[[Hostile], None]:
    """``tag`` resolves (HEAD) to ``body``'s digest, which GET by digest serves: a
    consistent registry serving made-up content under a real tag."""
    def poison(h: Hostile) -> None:
        headers = {"Content-Type": OCI, "Docker-Content-Digest": sha(body)}
        h.proxy.route("HEAD", h.path("manifests", tag), 200, headers, length=len(body))
        h.proxy.route("GET", h.path("manifests", sha(body)), 200, headers, body)
    return poison


def made_up(layers: list[dict[str, object]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI, "config": {
        "mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(b"{}"), "size": 2},
        "layers": layers}).encode()


def layer(title: str, data: bytes, size: int | None = None) -> dict[str, object]:
    return {"mediaType": "application/octet-stream", "digest": sha(data),
            "size": len(data) if size is None else size,
            "annotations": {"org.opencontainers.image.title": title}}


def v1_digest(h: Hostile) -> str:
    return h.facts.digest


def fallback_tag(h: Hostile) -> str:
    return h.facts.fallback_tag


def layer_b(h: Hostile) -> str:
    return str(h.facts.layers[1]["digest"])


def sig_payload(h: Hostile) -> str:
    return str(h.facts.sig_layers[0]["digest"])


def record_blob(h: Hostile) -> str:
    return h.facts.record_blobs[0]


def record_digest(h: Hostile) -> str:
    return h.facts.records[0]


def on_replica(kind: str, ref: Callable[[Hostile], str] | str, status: int = 200,
             headers: dict[str, str] | None = None, body: bytes = b"", method: str = "GET",
             **kw: object) -> Callable[[Hostile], None]:
    def poison(h: Hostile) -> None:
        name = ref if isinstance(ref, str) else ref(h)
        h.replica.route(method, h.path(kind, name, REPLICA_REPO), status, headers or {}, body,
                        **kw)
    return poison


def redirect_loop(digest: Callable[[Hostile], str]) -> Callable[[Hostile], None]:
    def poison(h: Hostile) -> None:
        path = h.path("blobs", digest(h))
        h.proxy.route("GET", path, 307, {"Location": h.proxy.url(path)})
    return poison


def fallback_index(entries: Callable[[Hostile], list[dict[str, object]]], *,
                   of_v2: bool = False) -> Callable[[Hostile], None]:
    """v1.0.0's (or v2.0.0's) referrers (fallback index tag ``sha256-<hex>``) list
    ``entries``."""
    def poison(h: Hostile) -> None:
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX,
                           "manifests": entries(h)}).encode()
        tag = v2_fallback_tag if of_v2 else fallback_tag
        manifest(tag, body, content_type=INDEX)(h)
    return poison


def env_index(entries: Callable[[Hostile], list[dict[str, object]]],
              env: str = "dev") -> Callable[[Hostile], None]:
    """The environment's index (``floe-<env>-index``) lists ``entries``."""
    def poison(h: Hostile) -> None:
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX,
                           "manifests": entries(h)}).encode()
        manifest(lambda _: f"floe-{env}-index", body, content_type=INDEX)(h)
    return poison


def v2_fallback_tag(h: Hostile) -> str:
    return h.facts.v2_digest.replace(":", "-", 1)


def to_storage(digest: Callable[[Hostile], str]) -> Callable[[Hostile], None]:
    """The registry asks for credentials and redirects the blob to another origin (which
    serves the real blob); the credentials must not follow."""
    def poison(h: Hostile) -> None:
        h.proxy.challenge = 'Basic realm="registry"'
        path = h.path("blobs", digest(h))
        h.proxy.route("GET", path, 307, {"Location": h.storage.url(path)})
    return poison


def record_entry(digest: str) -> dict[str, object]:
    return {"mediaType": OCI, "digest": digest, "size": 500,
            "artifactType": "application/vnd.floe.promotion.v1+json"}


def gzip_bomb(inflated: int = 256 * MIB) -> bytes:
    """A gzip stream of zeros, about 1/1000 of ``inflated``, made without holding it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * MIB
    return b"".join([*(packer.compress(zeros) for _ in range(inflated // MIB)),
                     packer.flush()])


NOT_JSON = b"{this is not json"
OTHER = made_up([layer("other.txt", b"other")])
CREDENTIALS = (("FLOE_REGISTRY_USERNAME", "alice"), ("FLOE_REGISTRY_PASSWORD", "S3cret-pw"))
PROMOTION = "application/vnd.floe.promotion.v1+json"

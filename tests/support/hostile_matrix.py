"""The cases of the hostile-registry matrix (see :mod:`support.hostile_cases`)."""

from __future__ import annotations

import json
from collections.abc import Callable

from support.hostile_cases import (
    AUDIT,
    CREDENTIALS,
    DOCKER,
    DRY_PROMOTE,
    GIB,
    INDEX,
    MIB,
    NOT_JSON,
    OCI,
    OTHER,
    PROMOTE,
    PULL,
    STATUS,
    SYNC,
    SYNC_CHECK,
    VERIFY,
    Case,
    blob,
    both,
    env_index,
    fallback_index,
    fallback_tag,
    gzip_bomb,
    layer,
    layer_b,
    made_up,
    manifest,
    on_replica,
    record_blob,
    record_digest,
    record_entry,
    redirect_loop,
    sha,
    sig_payload,
    tag_pointing_at,
    to_storage,
    v1_digest,
    v2_fallback_tag,
)
from support.hostile_server import endless
from support.hostile_setup import Hostile

BAD_RECORD = json.dumps({"artifactType": "application/vnd.floe.lock.v1+json", "subject": "x",
                         "layers": []}).encode()


def _real(h: Hostile) -> bytes:
    return h.raw(h.facts.digest)[0]


def _source(h: Hostile) -> str:
    """The source tag: promote reads it with its manifest (one GET: issue 15)."""
    return "v1.0.0-dev"


def _lying(body: bytes | Callable[[Hostile], bytes], **kw: object) -> Callable[[Hostile], None]:
    """GET of the source tag answers ``body`` under the digest the tag really names."""
    def poison(h: Hostile) -> None:
        data = body(h) if callable(body) else body
        manifest(_source, data, digest=h.facts.digest, **kw)(h)  # type: ignore[arg-type]
    return poison


PROMOTE_CASES = [
    Case("source manifest: not JSON (other bytes than its digest)", PROMOTE,
         _lying(NOT_JSON), 14, "does not match", refusal_recorded=True),
    Case("source manifest: a valid manifest of another digest", PROMOTE,
         _lying(OTHER), 14, "does not match", refusal_recorded=True),
    Case("source tag: names another digest than the ledger", PROMOTE,
         manifest(_source, OTHER), 14, "ledger recorded", refusal_recorded=True),
    Case("source tag: answers a digest that is not one", PROMOTE,
         both(manifest(_source, OTHER, digest="sha256:../../x"),
              manifest(_source, b"", method="HEAD", digest="sha256:../../x", length=10)),
         14, "not a sha256 digest"),
    Case("source manifest: 100 MB, Content-Length announced", PROMOTE,
         manifest(_source, b"", chunks=endless(), length=100 * MIB), 5, "larger than"),
    Case("source manifest: endless, no Content-Length", PROMOTE,
         manifest(_source, b"", chunks=endless(), framing="close"), 5, "larger than"),
    Case("source manifest: endless, chunked", PROMOTE,
         manifest(_source, b"", chunks=endless(), framing="chunked"), 5, "larger than"),
    Case("source manifest: 200 with an empty body", PROMOTE, _lying(b""), 14,
         "does not match", refusal_recorded=True),
    Case("source manifest: Content-Type of another manifest type", PROMOTE,
         _lying(_real, content_type=DOCKER), 14, "declares mediaType", refusal_recorded=True),
    Case("source manifest: Content-Encoding gzip, body not gzip", PROMOTE,
         lambda h: h.proxy.route("GET", h.path("manifests", _source(h)), 200,
                                 {"Content-Type": OCI, "Content-Encoding": "gzip"}, NOT_JSON),
         5, "cannot be decoded"),
    Case("source manifest: redirect to another origin", PROMOTE,
         lambda h: h.proxy.route("GET", h.path("manifests", _source(h)), 307,
                                 {"Location": h.storage.url("/x")}), 5),
    Case("referrers index: not JSON", PROMOTE,
         manifest(fallback_tag, NOT_JSON, content_type=INDEX), 14, "not valid JSON"),
    Case("referrers index: lying Docker-Content-Digest", PROMOTE,
         lambda h: manifest(fallback_tag, h.raw(h.facts.fallback_tag)[0], content_type=INDEX,
                            digest=sha(OTHER))(h), 14, "does not match"),
    Case("referrers index: an entry whose size is not a number", PROMOTE,
         fallback_index(lambda h: [record_entry(sha(b"x")) | {"size": "big"}]), 14,
         "not a descriptor"),
    Case("referrers: another subject's record, a nonexistent one (dry run)", DRY_PROMOTE,
         fallback_index(lambda h: [record_entry(h.facts.other_record),
                                    record_entry(sha(b"nowhere"))]), 0, "ignored: its subject"),
]

READ_CASES = [
    Case("status: referrers point to another subject's record and nowhere", STATUS,
         fallback_index(lambda h: [record_entry(h.facts.records[0]),
                                   record_entry(sha(b"nowhere"))], of_v2=True), 0,
         "ignored: its subject"),
    Case("status: referrers index endless", STATUS,
         manifest(v2_fallback_tag, b"", chunks=endless(), framing="close",
                  content_type=INDEX), 0, "could not be read"),
    Case("status: a referrer whose annotations are not an object", STATUS,
         fallback_index(lambda h: [record_entry(sha(b"x")) | {"annotations": ["a"]}],
                        of_v2=True), 14, "not a descriptor"),
    Case("status: referrers API answers 200 with a body that is not an index", STATUS,
         lambda h: h.proxy.route("GET", h.path("referrers", h.facts.v2_digest), 200,
                                 {"Content-Type": INDEX}, NOT_JSON), 0, "not an OCI image index"),
    Case("audit: tag list is not JSON", AUDIT,
         lambda h: h.proxy.route("GET", h.path("tags", "list"), 200,
                                 {"Content-Type": "application/json"}, NOT_JSON),
         5, "not a tag list"),
    Case("audit: tag list names a tag outside the OCI grammar", AUDIT,
         lambda h: h.proxy.route("GET", h.path("tags", "list"), 200, {}, json.dumps(
             {"name": "x", "tags": ["../../etc/passwd"]}).encode()), 5, "not a tag list"),
    Case("audit: tag list endless, chunked", AUDIT,
         lambda h: h.proxy.route("GET", h.path("tags", "list"), 200, {}, chunks=endless(),
                                 framing="chunked"), 5, "larger than"),
    Case("audit: tag list pages in a loop (Link to itself)", AUDIT,
         lambda h: h.proxy.route("GET", h.path("tags", "list"), 200, {
             "Link": f'<{h.path("tags", "list")}>; rel="next"'},
             b'{"name": "hostile/app", "tags": ["v1.0.0"]}'), 5, "loop"),
    Case("audit: record with a lying Docker-Content-Digest", AUDIT,
         lambda h: manifest(record_digest, h.raw(h.facts.records[0])[0],
                            digest=sha(OTHER))(h), 14, "does not match"),
    Case("audit: a lock record the environment's index lists, its subject not an object",
         AUDIT, both(env_index(lambda h: [record_entry(sha(BAD_RECORD)) | {
             "annotations": {"dev.floe.record.kind": "lock"}}]),
             manifest(lambda h: sha(BAD_RECORD), BAD_RECORD)), 14, "not a JSON object"),
    Case("audit: record blob endless (no Content-Length)", AUDIT,
         blob(record_blob, chunks=endless(), framing="close"), 14, "larger than"),
    Case("audit: record blob of 1 GiB, Content-Length announced", AUDIT,
         blob(record_blob, chunks=endless(), length=GIB), 14, "larger than"),
    Case("audit: record blob is a gzip bomb (256 MiB inflated)", AUDIT,
         lambda h: blob(record_blob, body=gzip_bomb(), headers={"Content-Encoding": "gzip"})(h),
         14, "larger than"),
    Case("verify: signature manifest is not JSON", VERIFY,
         manifest(lambda h: h.facts.sig_tag, NOT_JSON), 6, "not JSON"),
    Case("verify: signature manifest by tag, lying Docker-Content-Digest", VERIFY,
         lambda h: manifest(lambda h: h.facts.sig_tag, h.raw(h.facts.sig_tag)[0],
                            digest=sha(OTHER))(h), 14, "does not match"),
    Case("verify: signature payload is other bytes", VERIFY, blob(sig_payload, body=b"x" * 243),
         6, "does not match"),
    Case("verify: signature payload endless, chunked", VERIFY,
         blob(sig_payload, chunks=endless(), framing="chunked"), 5, "larger than"),
    Case("verify: signature payload redirects in a loop", VERIFY, redirect_loop(sig_payload),
         5, "loop"),
    Case("sync --check: replica tag list is not JSON", SYNC_CHECK,
         on_replica("tags", "list", body=NOT_JSON), 14, "not a tag list"),
    Case("sync: replica tag list is not JSON", SYNC, on_replica("tags", "list", body=NOT_JSON),
         5, "not a tag list"),
    Case("sync: replica tag list endless, chunked", SYNC,
         on_replica("tags", "list", chunks=endless(), framing="chunked"), 5, "larger than"),
    Case("sync: replica HEAD names another digest", SYNC,
         on_replica("manifests", "v1.0.0-dev", method="HEAD", headers={
             "Content-Type": OCI, "Docker-Content-Digest": sha(OTHER)}, length=len(OTHER)),
         5, "reads back as"),
    Case("sync: replica referrers index endless", SYNC,
         on_replica("manifests", fallback_tag, headers={"Content-Type": INDEX}, chunks=endless(),
                  framing="close"), 5, "larger than"),
    Case("sync --check: replica manifest of 100 MB", SYNC_CHECK,
         on_replica("manifests", "", headers={"Content-Type": OCI}, chunks=endless(),
                  length=100 * MIB), 14, "larger than"),
]

PULL_CASES = [
    Case("pull: layer larger than its descriptor (Content-Length)", PULL,
         blob(layer_b, body=b"y" * 20000), 14, "larger than"),
    Case("pull: layer endless, no Content-Length", PULL,
         blob(layer_b, chunks=endless(), framing="close"), 14, "larger than"),
    Case("pull: layer endless, chunked", PULL,
         blob(layer_b, chunks=endless(), framing="chunked"), 14, "larger than"),
    Case("pull: layer of the right size but other bytes", PULL,
         blob(layer_b, body=b"z" * 16384), 14, "does not match"),
    Case("pull: layer 200 with an empty body", PULL, blob(layer_b), 14, "does not match"),
    Case("pull: layer redirects in a loop", PULL, redirect_loop(layer_b), 5, "loop"),
    Case("pull: layer redirects to a file:// URL", PULL,
         blob(layer_b, 307, headers={"Location": "file:///etc/passwd"}), 5),
    Case("pull: layer redirects to another origin (credentials stay home)", PULL,
         to_storage(layer_b), 0, "wrote 2 file(s)", env=CREDENTIALS),
    Case("pull: layer is a gzip bomb (256 MiB inflated)", PULL,
         lambda h: blob(layer_b, body=gzip_bomb(), headers={"Content-Encoding": "gzip"})(h),
         14, "larger than"),
    Case("pull: manifest served as text/html (bytes right)", PULL,
         lambda h: manifest(v1_digest, _real(h), content_type="text/html")(h), 0,
         "wrote 2 file(s)"),
    Case("pull: tag resolves to a manifest that is not JSON", PULL,
         tag_pointing_at("v1.0.0", NOT_JSON), 14, "not valid JSON", plain=True),
    Case("pull: manifest of 100 MB, chunked", PULL,
         manifest(v1_digest, b"", chunks=endless(), framing="chunked"), 5, "larger than"),
    Case("pull: a layer of 320 MiB that never ends (streamed, not buffered)", PULL, both(
         tag_pointing_at("v1.0.0", made_up([layer("big.bin", b"never", size=320 * MIB)])),
         blob(lambda h: sha(b"never"), chunks=endless(1024 * 1024), framing="close")),
         14, "larger than", plain=True),
]

CASES = PROMOTE_CASES + READ_CASES + PULL_CASES

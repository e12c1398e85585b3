"""A small in-process OCI registry on 127.0.0.1, for what docker-registry 2.8 cannot do.

It speaks enough of the distribution API for the adapter: manifests GET/HEAD/PUT
(checking referenced blobs exist), blobs GET/HEAD, uploads (POST + PUT ?digest=,
cross-repository mounts), tags/list with ``Link`` pagination, the OCI 1.1
referrers API (with ``OCI-Subject`` on PUT), DELETE of a tag alone (the spec's tag
deletion, as distribution 3 and zot do; ``tag_delete=False`` answers like distribution 2.8),
and Bearer token auth whose token endpoint requires Basic credentials. It can be told to
answer 500 N times, and to protect tags like an immutability rule (``protect_tags``).

Usage::

    with FakeRegistry(users={"alice": "pw"}, tags_page_size=2) as fake:
        fake.uri("acme/app")   # oci://127.0.0.1:PORT/acme/app
        fake.fail_next(2)      # the next two requests get HTTP 500
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-answer (a test SIGKILLs floe) is expected, not an error: its
    traceback would land on whatever captures stderr at that moment (another test in this
    worker, e.g. an in-process CLI run that fails on any traceback in its output)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


ROUTE = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags|referrers)/(?P<ref>.*)$")
INDEX = "application/vnd.oci.image.index.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str) -> Reply:
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return Reply(status, body, {"Content-Type": "application/json"})


class FakeRegistry:
    """The registry's state plus a threaded HTTP server serving it."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        referrers_api: bool = True,
        oci_subject_header: bool = True,
        tags_page_size: int | None = None,
        digest_header: bool = True,
        tag_delete: bool = True,
    ) -> None:
        self.users = dict(users or {})
        self.identity_tokens: dict[str, str] = {}  # refresh token -> user, for POST /token
        self.referrers_api = referrers_api
        self.oci_subject_header = oci_subject_header
        self.tags_page_size = tags_page_size
        self.digest_header = digest_header
        self.tag_delete = tag_delete
        self._protected: tuple[re.Pattern[str], Reply] | None = None
        self.manifests: dict[tuple[str, str], tuple[str, bytes]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.blobs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.token_requests: list[tuple[str, list[str]]] = []
        self._tokens: set[str] = set()
        self._failures = 0
        self._tag_failures: dict[str, int] = {}
        self._tag_delays: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- control ------------------------------------------------------------------------

    def start(self) -> FakeRegistry:
        registry = self

        class Handler(_Handler):
            fake = registry

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def host(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.server_address[1]}"

    def uri(self, repository: str) -> str:
        return f"oci://{self.host}/{repository}"

    def fail_next(self, count: int) -> None:
        """Answer the next ``count`` requests with HTTP 500."""
        self._failures = count

    def fail_tag_puts(self, tag: str, count: int) -> None:
        """Answer the next ``count`` manifest PUTs to ``tag`` with HTTP 500."""
        self._tag_failures[tag] = count

    def delay_tag_puts(self, tag: str, seconds: float) -> None:
        """Hold every manifest PUT to ``tag`` for ``seconds`` before storing it."""
        self._tag_delays[tag] = seconds

    def protect_tags(self, pattern: str, status: int = 400, code: str = "TAG_INVALID",
                     message: str = "The image tag '{tag}' already exists in the repository "
                     "and cannot be overwritten because the repository is immutable.") -> None:
        """Refuse a PUT that would move an existing tag matching ``pattern`` (an
        immutability rule; the default answer is ECR's)."""
        self._protected = (re.compile(pattern), _error(status, code, message))

    def _immutable(self, name: str, ref: str, body: bytes) -> Reply | None:
        current = self.tags.get(name, {}).get(ref)
        if self._protected is None or current is None or current == _digest(body):
            return None
        pattern, answer = self._protected
        if not pattern.fullmatch(ref):
            return None
        return Reply(answer.status, answer.body.replace(b"{tag}", ref.encode()), answer.headers)

    def _tag_rule(self, method: str, path: str) -> Reply | None:
        match = ROUTE.match(path)
        if method != "PUT" or not match or match["kind"] != "manifests":
            return None
        tag = match["ref"]
        if self._tag_delays.get(tag):
            time.sleep(self._tag_delays[tag])  # outside the lock: other requests go on
        with self._lock:
            if self._tag_failures.get(tag, 0) > 0:
                self._tag_failures[tag] -= 1
                return _error(500, "UNKNOWN", f"injected failure writing {tag}")
        return None

    # -- dispatch -----------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]],
               headers: Any, body: bytes) -> Reply:
        injected = self._tag_rule(method, path)
        if injected is not None:
            return injected
        with self._lock:
            self.requests.append((method, path))
            if self._failures > 0:
                self._failures -= 1
                return _error(500, "UNKNOWN", "injected failure")
            if path == "/token":
                if method == "POST":
                    return self._oauth_token(parse_qs(body.decode()))
                return self._token(headers, query)
            match = ROUTE.match(path)
            name = match["name"] if match else ""
            if denied := self._check_auth(headers, name):
                return denied
            if path == "/v2/":
                return Reply(200, b"{}", {"Content-Type": "application/json"})
            if match is None:
                return Reply(404, b"404 page not found\n", {"Content-Type": "text/plain"})
            handler = getattr(self, f"_{match['kind']}")
            reply: Reply = handler(method, name, match["ref"], query, headers, body)
            return reply

    def _check_auth(self, headers: Any, name: str) -> Reply | None:
        if not self.users:
            return None
        auth = headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in self._tokens:
            return None
        challenge = f'Bearer realm="http://{self.host}/token",service="fake-registry"'
        if name:
            challenge += f',scope="repository:{name}:pull,push"'
        reply = _error(401, "UNAUTHORIZED", "authentication required")
        reply.headers["WWW-Authenticate"] = challenge
        return reply

    def _token(self, headers: Any, query: dict[str, list[str]]) -> Reply:
        auth = headers.get("Authorization", "")
        try:
            pair = base64.b64decode(auth.removeprefix("Basic ")).decode()
            user, _, password = pair.partition(":")
        except ValueError:
            user, password = "", ""
        if not auth.startswith("Basic ") or self.users.get(user) != password:
            return _error(401, "UNAUTHORIZED", "bad credentials")
        self.token_requests.append((user, query.get("scope", [])))
        token = secrets.token_hex(8)
        self._tokens.add(token)
        return Reply(200, json.dumps({"access_token": token}).encode())

    def _oauth_token(self, form: dict[str, list[str]]) -> Reply:
        refresh = form.get("refresh_token", [""])[0]
        user = self.identity_tokens.get(refresh)
        if form.get("grant_type") != ["refresh_token"] or user is None:
            return _error(401, "UNAUTHORIZED", "bad refresh token")
        self.token_requests.append((user, form.get("scope", [])))
        token = secrets.token_hex(8)
        self._tokens.add(token)
        return Reply(200, json.dumps({"access_token": token}).encode())

    # -- content ------------------------------------------------------------------------

    def _manifests(self, method: str, name: str, ref: str, query: Any, headers: Any,
                   body: bytes) -> Reply:
        if method == "PUT":
            refused = None if ref.startswith("sha256:") else self._immutable(name, ref, body)
            return refused or self._put_manifest(name, ref, headers.get("Content-Type", ""), body)
        if method == "DELETE":
            return self._delete_manifest(name, ref)
        digest = ref if ref.startswith("sha256:") else self.tags.get(name, {}).get(ref)
        stored = self.manifests.get((name, digest or ""))
        if stored is None:
            return _error(404, "MANIFEST_UNKNOWN", f"manifest unknown: {ref}")
        media_type, data = stored
        out = {"Content-Type": media_type}
        if self.digest_header:
            out["Docker-Content-Digest"] = _digest(data)
        return Reply(200, data, out)

    def _delete_manifest(self, name: str, ref: str) -> Reply:
        tags = self.tags.get(name, {})
        if ref.startswith("sha256:"):
            if self.manifests.pop((name, ref), None) is None:
                return _error(404, "MANIFEST_UNKNOWN", f"manifest unknown: {ref}")
            for tag in [t for t, d in tags.items() if d == ref]:
                del tags[tag]
            return Reply(202)
        if not self.tag_delete:
            return _error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        if tags.pop(ref, None) is None:
            return _error(404, "MANIFEST_UNKNOWN", f"manifest unknown: {ref}")
        return Reply(202)

    def _put_manifest(self, name: str, ref: str, media_type: str, body: bytes) -> Reply:
        doc = json.loads(body)
        digest = _digest(body)
        if ref.startswith("sha256:") and ref != digest:
            return _error(400, "DIGEST_INVALID", "digest does not match")
        children = [doc.get("config"), *doc.get("layers", [])] if "layers" in doc else []
        for child in children:
            if child and child["digest"] not in self.blobs:
                return _error(400, "MANIFEST_BLOB_UNKNOWN", f"blob unknown {child['digest']}")
        for child in doc.get("manifests", []):
            if (name, child["digest"]) not in self.manifests:
                return _error(400, "MANIFEST_BLOB_UNKNOWN", f"manifest unknown {child['digest']}")
        self.manifests[(name, digest)] = (media_type, body)
        if not ref.startswith("sha256:"):
            self.tags.setdefault(name, {})[ref] = digest
        out = {"Docker-Content-Digest": digest, "Location": f"/v2/{name}/manifests/{digest}"}
        if self.oci_subject_header and isinstance(doc.get("subject"), dict):
            out["OCI-Subject"] = doc["subject"]["digest"]
        return Reply(201, b"", out)

    def _blobs(self, method: str, name: str, ref: str, query: dict[str, list[str]],
               headers: Any, body: bytes) -> Reply:
        if ref == "uploads/" and method == "POST":
            mount = query.get("mount", [""])[0]
            if mount and mount in self.blobs:
                return Reply(201, b"", {"Docker-Content-Digest": mount})
            return Reply(202, b"", {"Location": f"/v2/{name}/blobs/uploads/{secrets.token_hex(6)}"})
        if ref.startswith("uploads/") and method == "PUT":
            digest = query.get("digest", [""])[0]
            if digest != _digest(body):
                return _error(400, "DIGEST_INVALID", "digest does not match upload")
            self.blobs[digest] = body
            return Reply(201, b"", {"Docker-Content-Digest": digest})
        if ref not in self.blobs:
            return _error(404, "BLOB_UNKNOWN", f"blob unknown {ref}")
        return Reply(200, self.blobs[ref], {"Docker-Content-Digest": ref})

    def _tags(self, method: str, name: str, ref: str, query: dict[str, list[str]],
              headers: Any, body: bytes) -> Reply:
        if name not in self.tags:
            return _error(404, "NAME_UNKNOWN", f"repository name not known: {name}")
        tags = sorted(self.tags[name])
        last = query.get("last", [""])[0]
        tags = [t for t in tags if t > last]
        size = int(query.get("n", [str(self.tags_page_size or len(tags) or 1)])[0])
        page, more = tags[:size], len(tags) > size
        out = {"Content-Type": "application/json"}
        if more:
            out["Link"] = f'</v2/{name}/tags/list?n={size}&last={page[-1]}>; rel="next"'
        return Reply(200, json.dumps({"name": name, "tags": page}).encode(), out)

    def _referrers(self, method: str, name: str, ref: str, query: dict[str, list[str]],
                   headers: Any, body: bytes) -> Reply:
        if not self.referrers_api:
            return Reply(404, b"404 page not found\n", {"Content-Type": "text/plain"})
        wanted = query.get("artifactType", [None])[0]
        entries = []
        for (repo, digest), (media_type, data) in self.manifests.items():
            doc = json.loads(data)
            if repo != name or (doc.get("subject") or {}).get("digest") != ref:
                continue
            kind = doc.get("artifactType") or doc.get("config", {}).get("mediaType")
            if wanted and kind != wanted:
                continue
            entry = {"mediaType": media_type, "digest": digest, "size": len(data),
                     "artifactType": kind, "annotations": doc.get("annotations", {})}
            entries.append(entry)
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
        out = {"Content-Type": INDEX}
        if wanted:
            out["OCI-Filters-Applied"] = "artifactType"
        return Reply(200, json.dumps(index).encode(), out)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeRegistry
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.fake.handle(self.command, url.path, parse_qs(url.query), self.headers, body)
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

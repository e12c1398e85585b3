"""A scripted HTTP(S) server on 127.0.0.1 playing a hostile registry, token realm, redirect
target or JWKS host; it records every request and whether it carried Authorization.

    with HostileServer(tls=True) as registry, HostileServer() as collector:
        registry.challenge = f'Bearer realm="{collector.url("/token")}"'
        ...  # drive floe at registry.host
        assert collector.authorizations() == []

With ``upstream`` it is a proxy in front of a real registry: a request no route matches is
forwarded there (``Location``/``Link`` answers rewritten to the proxy), so one answer can be
poisoned while the rest of the protocol is the real thing:

    with HostileServer(upstream=registry_server.url) as proxy:
        proxy.route("GET", "/v2/acme/app/manifests/v1.0.0", 200, body=b"{not json")

A body can be a fixed ``body`` or ``chunks`` (a function returning an iterator of bytes:
endless streams, slow drips), with a Content-Length (``length``, may lie), none (the body
ends when the connection closes) or chunked transfer encoding.

Two servers on 127.0.0.1 with different ports are different origins.
"""

from __future__ import annotations

import http.client
import itertools
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from support.registry_server import _self_signed_cert

Chunks = Callable[[], Iterator[bytes]]
Framing = Literal["length", "close", "chunked"]
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: Chunks | None = None  # streamed instead of ``body``
    framing: Framing = "length"  # Content-Length, close-delimited, or chunked
    length: int | None = None  # the Content-Length to announce (default: the body's)
    times: int | None = None  # answer this many requests, then let later routes answer

    def stream(self) -> Iterator[bytes]:
        return self.chunks() if self.chunks is not None else iter([self.body])


def endless(chunk: int = 64 * 1024) -> Chunks:
    """A body that never ends (until the client goes away)."""
    block = b"\x20" * chunk
    return lambda: itertools.repeat(block)


def drip(data: bytes, every_s: float) -> Chunks:
    """``data`` one byte at a time, ``every_s`` apart (a slow-loris answer)."""
    def chunks() -> Iterator[bytes]:
        for byte in data:
            time.sleep(every_s)
            yield bytes([byte])
    return chunks


class HostileServer:
    """Answers (method, path prefix) routes; anything else is 404, or forwarded upstream."""

    def __init__(self, *, tls: bool = False, upstream: str | None = None) -> None:
        self.tls = tls
        self.upstream = urlsplit(upstream) if upstream else None
        self.root = Path(tempfile.mkdtemp(prefix="floe-hostile-"))
        self.seen: list[Seen] = []
        self.challenge: str | None = None  # set: a request without Authorization gets a 401
        self._routes: list[tuple[str, str, Answer]] = []
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.daemon_threads = True
        if tls:
            _self_signed_cert(self.root)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.root / "cert.pem", self.root / "key.pem")
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.root / "cert.pem"

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}{path}"

    def route(self, method: str, prefix: str, status: int,
              headers: dict[str, str] | None = None, body: bytes = b"", **kw: Any) -> None:
        """Answer ``method`` requests whose path starts with ``prefix`` (latest route wins);
        ``kw`` are the other :class:`Answer` fields (chunks, framing, length, times)."""
        with self._lock:
            self._routes.insert(0, (method, prefix, Answer(status, dict(headers or {}), body,
                                                           **kw)))

    def clear(self) -> None:
        """Forget every route (and what was seen)."""
        with self._lock:
            self._routes.clear()
            self.seen.clear()

    def authorizations(self) -> list[str]:
        return [s.authorization for s in self.seen if s.authorization]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, method: str, path: str) -> Answer | None:
        with self._lock:
            for m, prefix, answer in self._routes:
                if m == method and path.startswith(prefix) and answer.times != 0:
                    if answer.times is not None:
                        answer.times -= 1
                    return answer
        if self.upstream is not None:
            return None
        return Answer(404, {"Content-Type": "application/json"}, b'{"errors":[]}')

    def _forward(self, method: str, path: str, headers: Any, body: bytes) -> Answer:
        """The upstream registry's answer, its own-origin URLs pointed at this proxy."""
        assert self.upstream is not None
        conn = http.client.HTTPConnection(self.upstream.netloc, timeout=30)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS}
            conn.request(method, path, body=body or None, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
            upstream_url = f"{self.upstream.scheme}://{self.upstream.netloc}"
            out = {k: v.replace(upstream_url, self.url("")).replace(self.upstream.netloc,
                                                                    self.host)
                   for k, v in resp.getheaders() if k.lower() not in _HOP_HEADERS}
            length = resp.getheader("Content-Length")
            return Answer(resp.status, out, data,
                          length=int(length) if method == "HEAD" and length else None)
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
                answer = outer._answer(self.command, self.path)
                if outer.challenge and not self.headers.get("Authorization"):
                    answer = Answer(401, {"WWW-Authenticate": outer.challenge})
                if answer is None:
                    answer = outer._forward(self.command, self.path, self.headers, body)
                try:
                    self._reply(answer)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                    self.close_connection = True  # the client hung up: a refusal worked

            def _reply(self, answer: Answer) -> None:
                if answer.framing == "chunked":
                    self.protocol_version = "HTTP/1.1"
                self.send_response(answer.status)
                headers = dict(answer.headers)
                if answer.framing == "length":
                    announced = len(answer.body) if answer.length is None else answer.length
                    headers.setdefault("Content-Length", str(announced))
                elif answer.framing == "chunked":
                    headers |= {"Transfer-Encoding": "chunked", "Connection": "close"}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                for chunk in answer.stream():
                    if answer.framing == "chunked":
                        chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunk else b""
                    self.wfile.write(chunk)
                if answer.framing == "chunked":
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _any

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

"""A scripted HTTP(S) server on 127.0.0.1 playing a hostile registry, token realm, redirect
target or JWKS host; it records every request and whether it carried Authorization.

    with HostileServer(tls=True) as registry, HostileServer() as collector:
        registry.challenge = f'Bearer realm="{collector.url("/token")}"'
        ...  # drive floe at registry.host
        assert collector.authorizations() == []

Two servers on 127.0.0.1 with different ports are different origins.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support.registry_server import _self_signed_cert


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


class HostileServer:
    """Answers (method, path prefix) routes; anything else is 404."""

    def __init__(self, *, tls: bool = False) -> None:
        self.tls = tls
        self.root = Path(tempfile.mkdtemp(prefix="floe-hostile-"))
        self.seen: list[Seen] = []
        self.challenge: str | None = None  # set: a request without Authorization gets a 401
        self._routes: list[tuple[str, str, Answer]] = []
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
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
              headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        """Answer ``method`` requests whose path starts with ``prefix`` (latest route wins)."""
        with self._lock:
            self._routes.insert(0, (method, prefix, Answer(status, dict(headers or {}), body)))

    def authorizations(self) -> list[str]:
        return [s.authorization for s in self.seen if s.authorization]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, method: str, path: str) -> Answer:
        with self._lock:
            for m, prefix, answer in self._routes:
                if m == method and path.startswith(prefix):
                    return answer
        return Answer(404, {"Content-Type": "application/json"}, b'{"errors":[]}')

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
                answer = outer._answer(self.command, self.path)
                if outer.challenge and not self.headers.get("Authorization"):
                    answer = Answer(401, {"WWW-Authenticate": outer.challenge})
                self.send_response(answer.status)
                headers = {"Content-Length": str(len(answer.body)), **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _any

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

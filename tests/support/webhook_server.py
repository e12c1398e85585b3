"""A real webhook receiver on 127.0.0.1 that records every request.

    with WebhookServer() as server:
        server.configure("/slow", delay=1.0)
        server.configure("/flaky", statuses=[503, 503, 200])
        url = server.url("/slow")
        ...
        server.requests_for("/slow")[0].json()

A server made with ``WebhookServer(port=free_port())`` and not started is a closed
port (an endpoint that is down); ``start()`` later brings it up on the same port.
``WebhookServer(tls=True)`` serves https with a self-signed certificate for 127.0.0.1
(``ca_file`` is the certificate to trust).
"""

from __future__ import annotations

import json
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support.registry_server import _self_signed_cert


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorded:
    """One request as received."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: float  # time.monotonic()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    delay: float = 0.0
    statuses: list[int] = field(default_factory=lambda: [200])  # last one repeats
    drip: float = 0.0  # seconds between response bytes: never idle long enough to time out


class WebhookServer:
    """Threaded http.server; per-path delay and status sequence."""

    def __init__(self, port: int = 0, *, tls: bool = False) -> None:
        self.port = port
        self.tls = tls
        self.root = Path(tempfile.mkdtemp(prefix="floe-hooks-")) if tls else None
        self.requests: list[Recorded] = []
        self._behaviour: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def configure(self, path: str, *, delay: float = 0.0, status: int = 200,
                  statuses: list[int] | None = None, drip: float = 0.0) -> None:
        with self._lock:
            self._behaviour[path] = Behaviour(delay, list(statuses or [status]), drip)

    @property
    def ca_file(self) -> Path:
        assert self.root is not None, "only a tls=True server has a certificate"
        return self.root / "cert.pem"

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}{path}"

    def requests_for(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _respond(self, path: str, headers: dict[str, str],
                 body: bytes) -> tuple[float, int, float]:
        with self._lock:
            self.requests.append(Recorded(path, headers, body, time.monotonic()))
            behaviour = self._behaviour.setdefault(path, Behaviour())
            status = behaviour.statuses.pop(0) if len(behaviour.statuses) > 1 else \
                behaviour.statuses[0]
            return behaviour.delay, status, behaviour.drip

    def start(self) -> WebhookServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                delay, status, drip = owner._respond(self.path, headers, body)
                time.sleep(delay)
                reply = b'{"ok": true}'
                try:
                    if drip:
                        self._drip(status, reply, drip)
                        return
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its deadline passed): that is the point

            def _drip(self, status: int, reply: bytes, pause: float) -> None:
                raw = (f"HTTP/1.1 {status} OK\r\nContent-Length: {len(reply)}\r\n\r\n"
                       .encode() + reply)
                for i in range(len(raw)):
                    self.wfile.write(raw[i:i + 1])
                    self.wfile.flush()
                    time.sleep(pause)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        if self.root is not None:
            if not self.ca_file.exists():
                _self_signed_cert(self.root)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.ca_file, self.root / "key.pem")
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookServer:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A fault-injecting HTTP proxy on 127.0.0.1, in front of a real server (issue 13, item 1).

    with FaultProxy(registry_server.host) as proxy:        # forwards everything unchanged
        proxy.fault("500", method="PUT", path=r"/manifests/v1\\.0\\.0-dev$", times=None)
        ws.write_manifest(registry={"uri": proxy.uri("acme/app"), "plain_http": True})
        ...
        proxy.count(method="PUT", path="/manifests/")     # requests seen, faulted or not
        proxy.clear()                                      # every rule off

A rule fires at the ``nth`` request matching (method regex, path regex), then on the next
``times - 1`` matching requests (``times=None``: on every one from the nth on, a persistent
fault). Faults:

- ``down``: the connection is closed without an answer, nothing forwarded (the server went
  away; the client sees a disconnect).
- ``500``: ``HTTP 500`` with a registry error body, nothing forwarded.
- ``429``: ``HTTP 429`` with ``Retry-After: <retry_after>`` (1 s), nothing forwarded.
- ``timeout``: forwarded; the answer is held ``delay`` seconds (longer than the client's
  read timeout), then the connection is closed. The server did the work; the client never
  hears of it.
- ``cut``: forwarded; the answer is cut halfway: headers with the full Content-Length and
  half the body, or, for an answer without a body, half of its status line and headers.
- ``hold``: forwarded; the answer is held until :meth:`release` (the test SIGKILLs the
  client meanwhile, see :meth:`wait_held`), then the connection is closed.
- ``flip``: forwarded; the answer's body comes back whole but with its last byte altered
  (a corrupted blob: same length, other digest).

``max_body`` (bytes, default None: no limit): a request whose body is larger is answered
``413 Payload Too Large`` without being forwarded (a registry, or a proxy in front of it,
that refuses monolithic uploads of that size).

Every request is recorded (method, path, status or fault) for counting. The Host header is
passed through, so a registry builds its Location URLs on the proxy's address.

``latency`` (seconds, default 0) is added to every request before it is answered: a remote
registry's round trip on 127.0.0.1 (benchmarks/latency.py). Requests on separate
connections wait side by side, as they would over a network.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("down", "500", "429", "timeout", "cut", "hold", "flip")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade"}
ERROR_BODY = b'{"errors":[{"code":"UNKNOWN","message":"fault injected by the test proxy"}]}'


@dataclass
class Rule:
    """At the ``nth`` matching request, and ``times`` times in all (None: always), fault."""

    fault: str
    method: str = ".*"
    path: str = ".*"
    nth: int = 1
    times: int | None = 1
    matched: int = 0
    applied: int = 0

    def fires(self, method: str, path: str) -> bool:
        """Count a request; whether this rule faults it."""
        if not (re.fullmatch(self.method, method) and re.search(self.path, path)):
            return False
        self.matched += 1
        if self.matched < self.nth or (self.times is not None and self.applied >= self.times):
            return False
        self.applied += 1
        return True


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it: ``status`` is the answer relayed, or None if the
    proxy faulted it (``fault`` says how)."""

    method: str
    path: str
    status: int | None
    fault: str | None
    at: float


class FaultProxy:
    """A threaded proxy to ``upstream`` (``host:port``, plain http)."""

    def __init__(self, upstream: str, *, delay: float = 3.0, retry_after: int = 1,
                 latency: float = 0.0, max_body: int | None = None) -> None:
        self.upstream = upstream
        self.max_body = max_body
        self.delay = delay
        self.latency = latency
        self.retry_after = retry_after
        self.seen: list[Seen] = []
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._held = threading.Event()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # ---- set up ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        assert self._server is not None, "start() the proxy first"
        return f"127.0.0.1:{self._server.server_address[1]}"

    def uri(self, repository: str) -> str:
        return f"oci://{self.host}/{repository}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def fault(self, fault: str, *, method: str = ".*", path: str = ".*", nth: int = 1,
              times: int | None = 1) -> Rule:
        """Add a rule (see the module docstring); returns it (``applied`` counts its hits)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        rule = Rule(fault, method, path, nth, times)
        with self._lock:
            if fault == "hold":  # a fresh hold, even after an earlier release
                self._held.clear()
                self._release.clear()
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule and let held requests go."""
        with self._lock:
            self._rules.clear()
        self.release()

    # ---- observe --------------------------------------------------------------------------

    def requests(self, *, method: str = ".*", path: str = ".*") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen
                    if re.fullmatch(method, s.method) and re.search(path, s.path)]

    def count(self, *, method: str = ".*", path: str = ".*") -> int:
        return len(self.requests(method=method, path=path))

    def wait_held(self, timeout: float = 30.0) -> bool:
        """Wait until a ``hold`` rule holds a request."""
        return self._held.wait(timeout)

    def release(self) -> None:
        self._release.set()

    # ---- run ------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_any(self) -> None:
                owner._handle(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = do_any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True,
                         name="fault-proxy").start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- one request ----------------------------------------------------------------------

    def _rule_for(self, method: str, path: str) -> str | None:
        with self._lock:
            for rule in self._rules:
                if rule.fires(method, path):
                    return rule.fault
        return None

    def _note(self, method: str, path: str, fault: str | None) -> int:
        with self._lock:
            self.seen.append(Seen(method, path, None, fault, time.monotonic()))
            return len(self.seen) - 1

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, target = handler.command, handler.path
        path = target.split("?", 1)[0]
        body = _read_body(handler)
        fault = self._rule_for(method, path)
        index = self._note(method, path, fault)
        if self.latency:
            time.sleep(self.latency)
        if self.max_body is not None and len(body) > self.max_body:
            fault = "413"
        if fault in ("down", "500", "429", "413"):
            self._refuse(handler, fault)
            return
        status, reason, headers, data = self._forward(method, target, handler, body)
        if fault == "flip" and data:
            data, fault = data[:-1] + bytes([data[-1] ^ 0xFF]), None
        if fault is None:
            with self._lock:  # the status, now that it is known
                self.seen[index] = Seen(method, path, status, None, self.seen[index].at)
            _write(handler, _head(status, reason, headers, data, method) + data)
            return
        if fault == "cut":
            raw = _head(status, reason, headers, data, method)
            _write(handler, raw + data[: len(data) // 2] if data else raw[: len(raw) // 2])
        elif fault == "timeout":
            time.sleep(self.delay)
        elif fault == "hold":
            self._held.set()
            self._release.wait(120)
        _close(handler)

    def _refuse(self, handler: BaseHTTPRequestHandler, fault: str) -> None:
        if fault == "down":
            _close(handler)
            return
        status, extra = (500, "") if fault == "500" else (413, "") if fault == "413" else (
            429, f"Retry-After: {self.retry_after}\r\n")
        reason = {500: "Internal Server Error", 413: "Payload Too Large"}.get(status, "Too Many")
        head = (f"HTTP/1.1 {status} {reason}"
                f"\r\nContent-Type: application/json\r\n{extra}"
                f"Content-Length: {len(ERROR_BODY)}\r\n\r\n")
        _write(handler, head.encode() + (b"" if handler.command == "HEAD" else ERROR_BODY))

    def _forward(self, method: str, target: str, handler: BaseHTTPRequestHandler,
                 body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        host, _, port = self.upstream.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            headers: dict[str, str] = {}
            for k, v in handler.headers.items():  # a repeated header (Accept) is one list
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    headers[k] = f"{headers[k]}, {v}" if k in headers else v
            if body or method in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _head(status: int, reason: str, headers: list[tuple[str, str]], data: bytes,
          method: str) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in headers:
        if name.lower() in HOP_BY_HOP or (name.lower() == "content-length" and method != "HEAD"):
            continue
        lines.append(f"{name}: {value}")
    if method != "HEAD" and status not in (204, 304):
        lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _write(handler: BaseHTTPRequestHandler, raw: bytes) -> None:
    try:
        handler.wfile.write(raw)
        handler.wfile.flush()
    except OSError:
        handler.close_connection = True


def _close(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)

"""Network rules shared by the adapters: what counts as loopback, an origin, a capped read.

* :func:`is_loopback` - 127.0.0.0/8, ::1 (and v4-mapped loopback) or ``localhost``: the
  only hosts floe talks plain http to without being told.
* :func:`origin` - scheme, host and port (the default port filled in): credentials stay
  on one origin (security review §8).
* :func:`read_capped` - a streamed response's body, refused past a byte limit so a hostile
  server cannot exhaust memory (security review §18), or past a deadline so a server that
  drips its answer cannot hold floe forever; into memory, or into a file.
* :func:`retry_after_seconds` - what a ``Retry-After`` header asks for, in seconds.
"""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # only annotations: `status` reads the ledger location without httpx
    import httpx

MIB = 1024 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ResponseTooLargeError(Exception):
    """A response body (or its Content-Length) is larger than the cap."""

    def __init__(self, limit: int, announced: int | None = None) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit
        self.announced = announced


class ResponseTooSlowError(Exception):
    """A response body did not arrive whole before its deadline."""

    def __init__(self, seconds: float, received: int) -> None:
        super().__init__(f"not complete after {seconds:g} s")
        self.seconds = seconds
        self.received = received


def host_name(hostport: str) -> str:
    """``[::1]:5000`` → ``::1``; ``Registry.Example:443`` → ``registry.example``."""
    value = hostport.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, no port) is this machine's loopback."""
    name = host.strip().lower().strip("[]")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port made explicit."""
    return url.scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(url.scheme)


def display_origin(url: httpx.URL) -> str:
    """``scheme://host:port`` of ``url``: never its path, query or user info."""
    scheme, host, port = origin(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}" if port else f"{scheme}://{shown}"


def read_capped(response: httpx.Response, limit: int, *, deadline_s: float | None = None,
                sink: BinaryIO | None = None) -> bytes:
    """Read a streamed ``response`` into memory, at most ``limit`` bytes (decoded).

    The body is kept on the response (``response.content`` works afterwards) and the
    stream is closed either way. With ``sink`` the bytes are written there instead and
    ``b""`` is returned (memory stays at one chunk, whatever the size).

    Args:
        response: a response opened with ``stream=True``.
        limit: the most bytes accepted.
        deadline_s: the most seconds the whole body may take (None: no limit).
        sink: a binary file to write the body into instead of memory.

    Raises:
        ResponseTooLargeError: Content-Length or the bytes received exceed ``limit``.
        ResponseTooSlowError: the body was not complete within ``deadline_s``.
    """
    started = time.monotonic()
    try:
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.isdigit() and int(announced) > limit:
            raise ResponseTooLargeError(limit, int(announced))
        chunks: list[bytes] = []
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > limit:
                raise ResponseTooLargeError(limit)
            if deadline_s is not None and time.monotonic() - started > deadline_s:
                raise ResponseTooSlowError(deadline_s, received)
            if sink is not None:
                sink.write(chunk)
            else:
                chunks.append(chunk)
        body = b"".join(chunks)
        response._content = body  # what Response.read() itself stores
        return body
    finally:
        response.close()


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP-date), or
    None when it is absent or unreadable. A date in the past is 0."""
    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())

"""Blobs of any size between a registry and floe, never whole in memory (issue 15 item 5).

    with open_blob(http, path, digest, size, uri) as chunks:   # GET, body unread
        for chunk in chunks: ...                              # checked while it passes

    upload_blob(http, uploads_path, digest, size, opener, uri, fail, has_blob)

Reading: one GET whose body is handed on chunk by chunk, refused past ``size`` and checked
against ``digest`` before its last chunk is given (:class:`BlobStream`); a body may take
:data:`BODY_DEADLINE_S` plus one second per MiB (a server that drips is still cut off).

Writing: POST opens an upload, then one PUT ``?digest=`` carries the whole body
(monolithic: one request, the registry hashes it as it arrives). A registry (or a proxy in
front of it) that refuses that body as too large (413) gets the blob again in PATCH chunks
of :data:`CHUNK_BYTES`, then an empty PUT ``?digest=``. The body is a one-shot stream, so
a connection lost mid-upload starts the blob over (a fresh GET from the source) up to
:data:`ATTEMPTS` times; if the blob is there after all, the first upload landed. A stream
whose bytes do not match the digest raises IntegrityError before its last byte is sent:
the upload is never completed, so nothing is stored under the digest (the abandoned upload
is cancelled).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import httpx

from floe_ledger.adapters.registry._http import (
    BACKOFF_S,
    BODY_DEADLINE_S,
    RETRY_AFTER_MAX_S,
    RegistryHttp,
)
from floe_ledger.adapters.system.net import MIB
from floe_ledger.domain.model.blobs import BlobOpener, BlobStream
from floe_ledger.domain.model.errors import (
    FloeError,
    IntegrityError,
    RegistryUnavailableError,
)

ATTEMPTS = 3
CHUNK_BYTES = 16 * MIB
"""The size of one PATCH when a registry refuses a monolithic upload."""
OCTETS = "application/octet-stream"

Fail = Callable[[httpx.Response, str], FloeError]


def open_blob(http: RegistryHttp, path: str, digest: str, size: int, uri: str,
              fail: Fail, deadline_s: float = BODY_DEADLINE_S) -> BlobStream:
    """GET the blob at ``path``; its body is read as the stream is iterated."""
    response = http.request("GET", path, follow_redirects=True, stream=True, max_bytes=MIB)
    if response.status_code != 200:
        raise fail(response, f"GET blob {digest}")
    what = f"blob {digest} in {uri}"
    announced = _announced(response)
    if announced is not None and announced != size:
        response.close()
        said = (f"the content is larger than the {size} bytes its descriptor says"
                if announced > size else f"content does not match its descriptor ({size} bytes,"
                f" digest {digest})")
        raise IntegrityError(
            f"{what}: {said} (the registry announces {announced} bytes)",
            hint="the registry returned different bytes than it named; check for a proxy "
            "or a corrupted registry store",
            details={"expected": digest, "size": size, "announced": announced})
    limit = deadline_s + size / MIB
    return BlobStream(digest, size, _body(response, http.host, limit, what), what=what,
                      close=response.close)


def _announced(response: httpx.Response) -> int | None:
    """The body's Content-Length, where it counts the blob's bytes (not an encoded body's)."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    length = response.headers.get("Content-Length")
    if encoding != "identity" or length is None or not length.isdigit():
        return None
    return int(length)


def _body(response: httpx.Response, host: str, deadline_s: float, what: str) -> Iterator[bytes]:
    started = time.monotonic()
    try:
        for chunk in response.iter_bytes():
            if time.monotonic() - started > deadline_s:
                raise RegistryUnavailableError(
                    f"registry {host} sent {what} too slowly (over {deadline_s:.0f} s)",
                    hint="the registry or the network is too slow; try again later")
            yield chunk
    except httpx.TransportError as exc:
        raise RegistryUnavailableError(
            f"registry {host} broke off sending {what} ({type(exc).__name__})",
            hint="the connection was lost; run the command again",
            details={"host": host}) from None
    finally:
        response.close()


def upload_blob(http: RegistryHttp, uploads: str, digest: str, size: int, opener: BlobOpener,
                fail: Fail, has_blob: Callable[[str], bool]) -> str:
    """Upload the blob ``opener`` streams (monolithic, else chunked); its digest.

    Raises:
        IntegrityError: the stream's bytes are not ``digest`` (nothing stored under it).
        RegistryUnavailableError: every attempt lost its connection.
    """
    chunked = False
    for attempt in range(ATTEMPTS):
        location = _start(http, uploads, fail)
        try:
            with opener() as chunks:
                _same(chunks, digest, size)
                if not chunked:
                    response = _put(http, location, digest, size, iter(chunks))
                    if response.status_code == 413:
                        chunked = True
                        _cancel(http, location)
                        continue
                else:
                    response = _patch_all(http, location, digest, size, iter(chunks), fail)
        except RegistryUnavailableError as exc:
            _cancel(http, location)
            if has_blob(digest):  # the answer was lost, not the upload
                return digest
            asked = float(exc.details.get("retry_after") or 0.0)
            if attempt == ATTEMPTS - 1 or asked > RETRY_AFTER_MAX_S:
                raise
            # the one-shot PUT was not retried by the client: pause as its retries would
            # (a 429's Retry-After honoured) before the blob starts over
            time.sleep(max(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)], asked))
            continue
        except (FloeError, OSError):  # IntegrityError among them: never completed
            _cancel(http, location)
            raise
        if response.status_code in (201, 204):
            return digest
        if response.status_code == 404 and has_blob(digest):
            return digest
        _cancel(http, location)
        if response.status_code != 401 or attempt == ATTEMPTS - 1:
            raise fail(response, f"upload blob {digest}")
    raise RegistryUnavailableError(f"registry {http.host} refused every upload of {digest}",
                                   hint="check the registry's upload size limits")


def _same(chunks: BlobStream, digest: str, size: int) -> None:
    if chunks.digest != digest or chunks.size != size:
        raise IntegrityError(f"{chunks.what} is not blob {digest} ({size} bytes)",
                             hint="a caller mixed up two blobs")


def _start(http: RegistryHttp, uploads: str, fail: Fail) -> httpx.URL:
    started = http.request("POST", uploads)
    location = started.headers.get("Location")
    if started.status_code != 202 or not location:
        raise fail(started, "start blob upload")
    return httpx.URL(http.base_url).join(location)


def _put(http: RegistryHttp, location: httpx.URL, digest: str, size: int,
         body: Iterator[bytes]) -> httpx.Response:
    return http.request(
        "PUT", location.copy_merge_params({"digest": digest}), content=body, once=True,
        headers={"Content-Type": OCTETS, "Content-Length": str(size)})


def _patch_all(http: RegistryHttp, location: httpx.URL, digest: str, size: int,
               body: Iterator[bytes], fail: Fail) -> httpx.Response:
    """PATCH the body in pieces of :data:`CHUNK_BYTES`, then the closing PUT."""
    pieces = _Pieces(body)
    sent = 0
    while sent < size:
        length = min(CHUNK_BYTES, size - sent)
        response = http.request(
            "PATCH", location, content=pieces.take(length), once=True,
            headers={"Content-Type": OCTETS, "Content-Length": str(length),
                     "Content-Range": f"{sent}-{sent + length - 1}"})
        if response.status_code != 202 or not response.headers.get("Location"):
            raise fail(response, f"upload chunk of blob {digest}")
        location = httpx.URL(http.base_url).join(response.headers["Location"])
        sent += length
    pieces.finish()  # the stream checks the digest at its end
    return http.request("PUT", location.copy_merge_params({"digest": digest}),
                        headers={"Content-Type": OCTETS, "Content-Length": "0"})


class _Pieces:
    """Cut one stream of chunks into consecutive bodies of given lengths."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def take(self, length: int) -> Iterator[bytes]:
        while length > 0:
            chunk = self._left or next(self._chunks, b"")
            if not chunk:
                return
            piece, self._left = chunk[:length], chunk[length:]
            length -= len(piece)
            yield piece

    def finish(self) -> None:
        """Drain the stream (nothing should be left) so its digest check runs."""
        if self._left or next(self._chunks, b""):
            raise IntegrityError("the blob has more bytes than its descriptor says",
                                 hint="the source registry returned different bytes")


def _cancel(http: RegistryHttp, location: httpx.URL) -> None:
    """Cancel an unfinished upload (best effort: the registry expires it anyway)."""
    with contextlib.suppress(FloeError):
        http.request("DELETE", location)

"""A blob read as a stream of chunks, checked against its descriptor while it passes.

    with registry.open_blob(digest, size) as chunks:      # one GET, body not read yet
        for chunk in chunks:                               # memory: a chunk or two
            out.write(chunk)                               # IntegrityError before the end
                                                           # if the bytes are not the blob

The last chunk is held back until the stream is exhausted and its size and sha256 are
known: a consumer that writes each chunk it is given (a file, an upload body) has never
written the whole blob when a mismatch is raised, so a mismatching blob is never stored
complete under its digest (issue 15 item 5). Bytes past ``size`` are refused at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType

from floe_ledger.domain.model.errors import IntegrityError, UsageError


class BlobStream:
    """The chunks of one blob (iterable once), verified against ``digest`` and ``size``.

    Args:
        digest: the ``sha256:<hex>`` the bytes must hash to.
        size: how many bytes the blob has.
        chunks: where the bytes come from (a response body, a file, a list).
        what: names the blob in error messages (``blob sha256:.. in oci://..``).
        close: releases the source (a response, a file); called by :meth:`close`.
    """

    def __init__(self, digest: str, size: int, chunks: Iterable[bytes], *, what: str = "blob",
                 close: Callable[[], None] | None = None) -> None:
        self.digest = digest
        self.size = size
        self.what = what
        self._chunks = chunks
        self._close = close
        self._used = False

    @classmethod
    def of_bytes(cls, data: bytes, digest: str, *, what: str = "blob",
                 chunk_size: int = 1024 * 1024) -> BlobStream:
        """A stream over bytes already in memory (fakes, small blobs)."""
        parts = (data[i:i + chunk_size] for i in range(0, len(data), chunk_size))
        return cls(digest, len(data), parts, what=what)

    def __iter__(self) -> Iterator[bytes]:
        if self._used:
            raise UsageError(f"{self.what} was already read", hint="open the blob again")
        self._used = True
        return self._verified()

    def _verified(self) -> Iterator[bytes]:
        hasher, received, held = hashlib.sha256(), 0, b""
        for chunk in self._chunks:
            if not chunk:
                continue
            received += len(chunk)
            if received > self.size:
                raise self._mismatch(received, None)
            hasher.update(chunk)
            if held:
                yield held
            held = chunk
        actual = "sha256:" + hasher.hexdigest()
        if actual != self.digest or received != self.size:
            raise self._mismatch(received, actual)
        if held:
            yield held

    def _mismatch(self, received: int, actual: str | None) -> IntegrityError:
        if actual is None:
            said = (f"the content is larger than the {self.size} bytes its descriptor says "
                    f"(digest {self.digest})")
        else:
            said = (f"content ({received} bytes, digest {actual}) does not match its "
                    f"descriptor ({self.size} bytes, digest {self.digest})")
        return IntegrityError(
            f"{self.what}: {said}; nothing was stored under that digest",
            hint="the registry returned different bytes than it named; check for a proxy or "
            "a corrupted registry store",
            details={"expected": self.digest, "actual": actual, "size": self.size,
                     "received": received},
        )

    def close(self) -> None:
        """Release the source (idempotent)."""
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> BlobStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


BlobOpener = Callable[[], BlobStream]
"""Opens a blob's stream afresh (a writer that must start over, after a cut connection or a
registry that refuses a monolithic upload, opens it again)."""

"""The Registry contract for streamed blobs (issue 15 item 5), on every adapter.

Each test runs against DistributionRegistry talking to the session's real docker-registry
and against LayoutRegistry on tmp_path (the ``registry`` fixture of this directory):
``open_blob`` hands a blob on chunk by chunk and refuses bytes that are not its descriptor's;
``put_blob_from`` stores a stream and never stores bytes under a digest they do not hash to.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from floe_ledger.domain.model.blobs import BlobStream
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError, UsageError
from floe_ledger.domain.model.oci import sha256_digest
from floe_ledger.domain.services.ports import Registry

MIB = 1024 * 1024


def _stored(registry: Registry, digest: str, size: int) -> bool:
    """Whether ``registry`` holds ``digest`` (read back as a stream, checked)."""
    try:
        with registry.open_blob(digest, size) as chunks:
            hasher = hashlib.sha256()
            for chunk in chunks:
                hasher.update(chunk)
    except NotFoundError:
        return False
    return "sha256:" + hasher.hexdigest() == digest


@pytest.mark.requirement("FR-029")
def test_a_streamed_blob_round_trips_in_chunks(registry: Registry) -> None:
    data = os.urandom(3 * MIB + 17)
    digest = sha256_digest(data)
    opened = []

    def opener() -> BlobStream:
        opened.append(1)
        return BlobStream.of_bytes(data, digest, chunk_size=64 * 1024)

    assert registry.put_blob_from(digest, len(data), opener) == digest
    assert registry.put_blob_from(digest, len(data), opener) == digest  # idempotent

    with registry.open_blob(digest, len(data)) as chunks:
        parts = list(chunks)
    assert b"".join(parts) == data
    assert len(parts) > 1 and max(map(len, parts)) <= 4 * MIB  # never the whole blob at once
    assert len(opened) >= 1


@pytest.mark.requirement("FR-029")
def test_a_stream_that_does_not_match_its_digest_is_never_stored(registry: Registry) -> None:
    data = os.urandom(2 * MIB)
    digest = sha256_digest(data)
    altered = data[:-1] + bytes([data[-1] ^ 1])

    with pytest.raises(IntegrityError) as caught:
        registry.put_blob_from(digest, len(data),
                               lambda: BlobStream.of_bytes(altered, digest))

    assert digest in caught.value.message
    assert not _stored(registry, digest, len(data))
    assert not _stored(registry, sha256_digest(altered), len(altered))


@pytest.mark.requirement("FR-029")
@pytest.mark.parametrize("extra", [-1, 1], ids=["short", "long"])
def test_a_stream_of_another_length_is_never_stored(registry: Registry, extra: int) -> None:
    data = os.urandom(MIB)
    digest = sha256_digest(data)
    body = data[:extra] if extra < 0 else data + b"\x00"
    stream = BlobStream(digest, len(data), iter([body]))

    with pytest.raises(IntegrityError):
        registry.put_blob_from(digest, len(data), lambda: stream)

    assert not _stored(registry, digest, len(data))


@pytest.mark.requirement("FR-029")
def test_open_blob_refuses_a_wrong_size_before_the_last_chunk(registry: Registry) -> None:
    data = os.urandom(2 * MIB)
    digest = registry.put_blob(data)

    for size in (len(data) - 1, len(data) + 1):
        given = b""
        with pytest.raises(IntegrityError), registry.open_blob(digest, size) as chunks:
            for chunk in chunks:
                given += chunk
        assert len(given) < len(data)  # the consumer never had the whole blob

    with pytest.raises(NotFoundError):
        registry.open_blob(sha256_digest(b"never uploaded"), 14)


@pytest.mark.requirement("FR-029")
def test_a_blob_stream_is_read_once(registry: Registry) -> None:
    digest = registry.put_blob(b"once")

    with registry.open_blob(digest, 4) as chunks:
        assert b"".join(chunks) == b"once"
        with pytest.raises(UsageError):
            list(chunks)

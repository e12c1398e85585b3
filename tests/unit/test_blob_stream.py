"""BlobStream: a blob's chunks, checked against its descriptor while they pass (issue 15 item 5)."""

from __future__ import annotations

import pytest

from floe_ledger.domain.model.blobs import BlobStream
from floe_ledger.domain.model.errors import IntegrityError, UsageError
from floe_ledger.domain.model.oci import sha256_digest

DATA = b"".join(bytes([n]) * 1000 for n in range(10))
DIGEST = sha256_digest(DATA)


def _take(stream: BlobStream) -> tuple[bytes, IntegrityError | None]:
    given = b""
    try:
        for chunk in stream:
            given += chunk
    except IntegrityError as err:
        return given, err
    return given, None


@pytest.mark.requirement("FR-029")
def test_matching_chunks_pass_unchanged() -> None:
    given, err = _take(BlobStream.of_bytes(DATA, DIGEST, chunk_size=999))

    assert err is None and given == DATA


@pytest.mark.requirement("FR-029")
@pytest.mark.parametrize("body", [DATA[:-1] + b"\x00", DATA[:-1], DATA + b"x", b""],
                         ids=["altered", "short", "long", "empty"])
def test_a_mismatch_is_raised_before_the_whole_blob_was_given(body: bytes) -> None:
    chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)]

    given, err = _take(BlobStream(DIGEST, len(DATA), iter(chunks), what="blob x"))

    assert err is not None and "blob x" in err.message and err.hint
    assert len(given) < len(DATA)


@pytest.mark.requirement("FR-029")
def test_an_empty_blob_passes_and_a_stream_is_read_once() -> None:
    empty = BlobStream(sha256_digest(b""), 0, iter([]))

    assert list(empty) == []
    with pytest.raises(UsageError):
        iter(empty)


@pytest.mark.requirement("FR-029")
def test_close_releases_the_source_once() -> None:
    closed = []
    with BlobStream(DIGEST, len(DATA), iter([DATA]), close=lambda: closed.append(1)) as s:
        s.close()

    assert closed == [1]

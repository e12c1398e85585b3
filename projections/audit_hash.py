"""A stored row's state and chain hash, read from its bytes exactly as the domain hashes it.

    state = parse_json_object(row_bytes)              # dict, or None if not a JSON object
    digest = row_digest(topic, artifact_id, version, state, row_bytes)   # 32 bytes

Parsing uses pydantic-core's compiled parser, which accepts a subset of what ``json.loads``
accepts and reads that subset alike (duplicate keys: the last wins; tests compare them);
what it refuses (a BOM, a lone surrogate escape, UTF-16, ...) is read by ``json.loads``, as
the store's mapper reads it. Hashing uses the domain's canonical JSON: the compiled encoder
for plain JSON, the RFC 8785 reference for the rest, on a ``json.loads`` reading so that
floats are the ones Python reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pydantic_core import from_json

from floe_ledger.domain.model.canonical import document_hash, plain_document_digest


def canonical_hash(topic: str, state: dict[str, Any]) -> str:
    """:func:`~floe_ledger.domain.model.events.event_hash` (the same function)."""
    return document_hash(topic, state)


def parse_json_object(data: bytes | str) -> dict[str, Any] | None:
    """The stored state as a dict, or None if it is not a JSON object."""
    try:
        value = from_json(data)
    except ValueError:
        try:
            value = json.loads(data)
        except ValueError:  # UnicodeDecodeError included
            return None
    return value if isinstance(value, dict) else None


def row_digest(topic: str, artifact_id: str, version: int, state: dict[str, Any],
               data: bytes | str) -> bytes:
    """The chain hash (raw 32 bytes) of a stored row whose ``data`` parsed to ``state``
    (state plus its originator id and version). ``state`` is not changed."""
    return owned_row_digest(topic, artifact_id, version, dict(state), data)


def owned_row_digest(topic: str, artifact_id: str, version: int, state: dict[str, Any],
                     data: bytes | str) -> bytes:
    """:func:`row_digest`, adding the originator id and version to ``state`` itself."""
    full = state
    full["originator_id"] = artifact_id
    full["originator_version"] = version
    fast = plain_document_digest(topic, full)
    if fast is not None:
        return fast
    exact = json.loads(data)  # floats as Python reads them, for the reference encoder
    exact["originator_id"] = artifact_id
    exact["originator_version"] = version
    return bytes.fromhex(document_hash(topic, exact))


class Digests:
    """Every version's recomputed hash in one stream, 32 bytes each in one buffer (a dict of
    hex strings would take ~200 bytes an event); the first hash seen for a version counts.

    Versions 1..n that arrive in order share the buffer; the rest (a broken stream's
    reordered, duplicated or unreadable rows) sit in a small dict.
    """

    __slots__ = ("_blob", "_other")

    def __init__(self) -> None:
        self._blob = bytearray()
        self._other: dict[int, bytes] = {}

    def add(self, version: int, digest: bytes) -> None:
        blob = self._blob
        if digest and not self._other and len(blob) == (version - 1) * 32:
            blob += digest  # the next version of a stream read in order: the usual case
            return
        if version in self._other or 1 <= version <= len(blob) // 32:
            return
        if digest and version == len(self._blob) // 32 + 1:
            self._blob += digest
        else:
            self._other[version] = digest

    def get(self, version: int) -> str | None:
        """The hex hash of ``version`` ("" for a row that did not parse), or None."""
        if 1 <= version <= len(self._blob) // 32:
            return self._blob[(version - 1) * 32:version * 32].hex()
        found = self._other.get(version)
        return found.hex() if found is not None else None

    def __getitem__(self, version: int) -> str:
        found = self.get(version)
        if found is None:
            raise KeyError(version)
        return found

    def __contains__(self, version: object) -> bool:
        return isinstance(version, int) and self.get(version) is not None

    def __len__(self) -> int:
        return len(self._blob) // 32 + len(self._other)

    def items(self) -> Iterator[tuple[int, str]]:
        for index in range(len(self._blob) // 32):
            yield index + 1, self._blob[index * 32:(index + 1) * 32].hex()
        for version, digest in self._other.items():
            yield version, digest.hex()

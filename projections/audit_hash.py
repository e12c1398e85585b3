"""The chain hash of a stored event, computed fast and byte-for-byte as the domain does."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from floe_ledger.domain.model.events import event_hash

_MAX_SAFE_INT = 2**53 - 1


def canonical_hash(topic: str, state: dict[str, Any]) -> str:
    """:func:`~floe_ledger.domain.model.events.event_hash`, about 5x faster on typical events.

    For JSON without floats, with integers in the IEEE-754 safe range and ASCII keys,
    the standard library's sorted, compact encoding is byte for byte RFC 8785 (same
    escapes, same key order); anything else goes through the RFC 8785 encoder.
    """
    doc = {"topic": topic, "event": state}
    if _plain(doc):
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        try:
            return hashlib.sha256(text.encode()).hexdigest()
        except UnicodeEncodeError:  # lone surrogates: let the RFC 8785 encoder decide
            pass
    return event_hash(topic, state)


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False

"""RFC 8785 (JCS) canonical JSON of events, fast for the JSON events hold.

The chain hash of an event is the sha256 of the RFC 8785 serialisation of
``{"topic": ..., "event": state}``. The reference encoder (``rfc8785``) is pure Python;
:func:`plain_document_hash` gets the same bytes through pydantic-core's compiled encoder
for *plain* JSON, and answers None for anything else, which then goes through the
reference encoder (:func:`document_hash` does both)::

    document_hash("floe.ledger/TagWritten.v1", {"tag": "v1-dev", ...})   # hex sha256

Plain JSON is what RFC 8785 and a compact, key-sorted encoding write alike:

* no floats (RFC 8785 writes numbers as ECMAScript does: ``1.0`` is ``1``) and integers
  within the IEEE-754 safe range (the reference refuses others);
* no character at or above U+E000 (RFC 8785 sorts keys by UTF-16 code units, which differ
  from code points only between U+E000..U+FFFF and the astral planes); lone surrogates make
  the compiled encoder fail, so they reach the reference too, which refuses them;
* strings are escaped alike: ``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t`` and ``\\u00xx`` for
  the other control characters, everything else as UTF-8 (tests check every code point).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import rfc8785
from pydantic_core import PydanticSerializationError, to_json

SAFE_INTEGER = 2**53 - 1
_HIGH = re.compile("[\ue000-\U0010ffff]")


class _NotPlain(Exception):
    """A value the compiled encoder would not write as RFC 8785 does."""


def canonical_json(value: dict[str, Any]) -> bytes:
    """The RFC 8785 serialisation of a JSON object (raises as ``rfc8785.dumps`` does)."""
    body = _plain_json(value)
    return body if body is not None else rfc8785.dumps(value)


def document_hash(topic: str, state: dict[str, Any]) -> str:
    """sha256 (hex) of the RFC 8785 JSON of ``{"topic": topic, "event": state}``."""
    fast = plain_document_hash(topic, state)
    if fast is not None:
        return fast
    return hashlib.sha256(rfc8785.dumps({"topic": topic, "event": state})).hexdigest()


def plain_document_hash(topic: str, state: dict[str, Any]) -> str | None:
    """:func:`document_hash` when ``topic`` and ``state`` are plain JSON, else None."""
    digest = plain_document_digest(topic, state)
    return digest.hex() if digest is not None else None


def plain_document_digest(topic: str, state: dict[str, Any]) -> bytes | None:
    """The 32 bytes of :func:`plain_document_hash` (None: not plain JSON)."""
    tail = _TAILS.get(topic)
    if tail is None:
        if type(topic) is not str or not topic.isascii():
            return None
        # "event" sorts before "topic"; an ASCII topic is written alike by both encoders.
        tail = b',"topic":' + to_json(topic) + b"}"
        if len(_TAILS) < 1000:
            _TAILS[topic] = tail
    try:
        body = to_json(_sorted_object(state))
    except (_NotPlain, PydanticSerializationError, TypeError, RecursionError):
        return None
    if not body.isascii() and _HIGH.search(body.decode()):
        return None
    return hashlib.sha256(b'{"event":' + body + tail).digest()


_TAILS: dict[str, bytes] = {}  # topic -> the end of its document (a few dozen topics)


def _plain_json(value: dict[str, Any]) -> bytes | None:
    try:
        body = to_json(_sorted_object(value))
    except (_NotPlain, PydanticSerializationError, TypeError, RecursionError):
        return None
    if not body.isascii() and _HIGH.search(body.decode()):
        return None
    return body


def _sorted_object(value: dict[str, Any]) -> dict[str, Any]:
    """A copy with every object's keys in code point order; _NotPlain for other values."""
    out: dict[str, Any] = {}
    keys = sorted(value)  # keys that do not compare with each other raise TypeError
    if keys and type(keys[0]) is not str:  # comparable with a str: all are str
        raise _NotPlain
    for key in keys:
        item = value[key]
        kind = type(item)
        if kind is str or item is None or kind is bool:
            out[key] = item
        elif kind is dict:
            out[key] = _sorted_object(item) if item else {}
        elif kind is list:
            out[key] = _sorted_array(item) if item else []
        elif kind is int and -SAFE_INTEGER <= item <= SAFE_INTEGER:
            out[key] = item
        else:
            raise _NotPlain
    return out


def _sorted_array(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in values:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            out.append(item)
        elif kind is dict:
            out.append(_sorted_object(item))
        elif kind is list:
            out.append(_sorted_array(item))
        elif kind is int and -SAFE_INTEGER <= item <= SAFE_INTEGER:
            out.append(item)
        else:
            raise _NotPlain
    return out

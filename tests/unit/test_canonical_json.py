"""The fast canonical JSON is RFC 8785 byte for byte, and the fast parser reads stored rows
as json.loads does: existing ledgers keep their hashes (NFR: faster, never different)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_ledger.domain.model.canonical import (
    canonical_json,
    document_hash,
    plain_document_hash,
)
from floe_ledger.projections.audit_hash import parse_json_object, row_digest

pytestmark = pytest.mark.requirement("FR-026")

SAFE = 2**53 - 1
chars = st.characters(blacklist_categories=("Cs",))
texts = st.text(alphabet=chars, max_size=12)
scalars = (st.none() | st.booleans() | st.integers(-SAFE - 5, SAFE + 5) | texts
           | st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(texts, inner, max_size=4), max_leaves=20)
objects = st.dictionaries(texts, values, max_size=6)


def reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except Exception as err:  # the reference refuses some values; so must the fast path
        return type(err)


def ours(value: Any) -> bytes | type[Exception]:
    try:
        return canonical_json(value)
    except Exception as err:
        return type(err)


@settings(max_examples=400, deadline=None)
@given(objects)
def test_any_json_object_is_written_as_rfc8785_writes_it(value: dict[str, Any]) -> None:
    assert ours(value) == reference(value)


@settings(max_examples=200, deadline=None)
@given(objects, texts)
def test_the_document_hash_is_the_sha256_of_the_rfc8785_document(
        state: dict[str, Any], topic: str) -> None:
    want = reference({"topic": topic, "event": state})
    if isinstance(want, bytes):
        assert document_hash(topic, state) == hashlib.sha256(want).hexdigest()
    else:
        with pytest.raises(want):
            document_hash(topic, state)


def test_every_code_point_is_escaped_and_sorted_as_rfc8785_does() -> None:
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(points), 2048):
        chunk = points[start:start + 2048]
        as_values = {"v": "".join(chunk)}
        as_keys = {c: i for i, c in enumerate(chunk[:512])} | {"a": 0, "\U0001f600": 1}
        assert canonical_json(as_values) == rfc8785.dumps(as_values)
        assert canonical_json(as_keys) == rfc8785.dumps(as_keys)


@pytest.mark.parametrize("state", [
    {"tag": "a\u2028b\x7f\x00\x1f\"\\/é😀"},
    {"é": 1, "e": 2, "😀": 3, "\uffff": 4, "\ue000": 5},
    {"n": 1.0, "m": 1e21, "small": 5e-7, "neg": -0.0},
    {"big": 2**60}, {"edge": SAFE, "neg": -SAFE}, {"over": SAFE + 1},
    {"lone": "\ud800"}, {"\udc00": 1}, {1: "int key"}, {"deep": [[[[{"b": 1, "a": 2}]]]]},
])
def test_edge_cases_go_the_reference_way(state: dict[str, Any]) -> None:
    assert ours(state) == reference(state)
    if isinstance(reference(state), bytes) and plain_document_hash("t", state) is None:
        assert document_hash("t", state) == hashlib.sha256(
            rfc8785.dumps({"topic": "t", "event": state})).hexdigest()


ROWS = [
    b'{"a":1,"a":2}', b'{"a":NaN}', b'{"a":Infinity}', b'{"a":"\\ud800"}',
    b'{"a":"\\ud83d\\ude00"}', b'{"a":"\\udc00x"}', b'{"\\u00e9":"\\u0000"}',
    b'{"a":12345678901234567890123}', b'{"a":1e400}', b'\xef\xbb\xbf{"a":1}',
    b'{"a":"\xff"}', b'{"a":"\xed\xa0\x80"}', b'{"a":1} x', b' {"a":1} ', b'[1,2]', b'"s"',
    b'{"a":"x\ny"}', b'{"a":1,}', b'{"a":01}', b'{"a":[1.0,2.5e-7]}', b'', b'{',
    '{"a":"é😀"}'.encode("utf-16"), '{"a":"é"}'.encode(), '{"a": 1.5, "b" : [ 1 , 2 ]}',
]


@pytest.mark.parametrize("data", ROWS)
def test_stored_rows_parse_as_json_loads_reads_them(data: bytes | str) -> None:
    try:
        want = json.loads(data)
    except ValueError:
        want = None
    got = parse_json_object(data)
    assert repr(got) == repr(want if isinstance(want, dict) else None)  # repr: NaN == NaN
    if got is None:
        return
    # ... and they hash as the reference does, floats included (or fail as it fails)
    expected = reference({"topic": "t", "event": dict(want, originator_id="x",
                                                      originator_version=3)})
    try:
        digest: bytes | type[Exception] = row_digest("t", "x", 3, got, data)
    except Exception as err:
        digest = type(err)
    assert digest == (hashlib.sha256(expected).digest() if isinstance(expected, bytes)
                      else expected)


@settings(max_examples=300, deadline=None)
@given(objects)
def test_json_text_parses_alike(value: dict[str, Any]) -> None:
    for text in (json.dumps(value, ensure_ascii=False), json.dumps(value)):
        assert parse_json_object(text.encode("utf-8", "surrogatepass")) == json.loads(
            text.encode("utf-8", "surrogatepass"))

"""The audit's fast hash is the domain's RFC 8785 hash, byte for byte, on any JSON value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floe_ledger.domain.model.events import event_hash
from floe_ledger.projections.audit_hash import canonical_hash

pytestmark = pytest.mark.requirement("FR-026")

SAFE = 2**53 - 1
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | texts | st.floats(
    allow_nan=False, allow_infinity=False)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(texts, inner, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(texts, values, max_size=6), texts)
def test_the_fast_hash_equals_the_rfc8785_hash(state: dict[str, Any], topic: str) -> None:
    assert canonical_hash(topic, state) == event_hash(topic, state)


@pytest.mark.parametrize("state", [
    {"tag": "a\u2028b\x7f\x00\x1f\"\\/é😀"},
    {"é": 1, "e": 2, "😀": 3, "\uffff": 4},
    {"n": 1.0, "m": 1e21, "small": 5e-7},
    {"big": 2**60},
])
def test_edge_cases_hash_alike(state: dict[str, Any]) -> None:
    try:
        expected = event_hash("t", state)
    except Exception as err:  # the RFC 8785 encoder refuses some values; so must we
        with pytest.raises(type(err)):
            canonical_hash("t", state)
        return
    assert canonical_hash("t", state) == expected

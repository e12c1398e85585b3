"""Trace ids for every command (FR-033); joins a CI trace given in TRACEPARENT."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """(trace_id, parent span id) from a W3C traceparent, or None if absent/invalid."""
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or set(match[1]) == {"0"}:
        return None
    return match[1], match[2]


def current_trace_id(env: Mapping[str, str]) -> str:
    """The CI trace's id if TRACEPARENT names one, else a new random 32-hex id."""
    parsed = parse_traceparent(env.get("TRACEPARENT"))
    return parsed[0] if parsed else secrets.token_hex(16)

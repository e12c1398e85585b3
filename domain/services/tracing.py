"""The tracing port the domain calls around its steps (FR-024, OBS-01..05).

The domain opens spans by name and never imports OpenTelemetry; the composition root
passes the real tracer (``floe_ledger.adapters.observability.tracing.Telemetry`` satisfies
:class:`Tracer`). The default, :class:`NoopTracer`, costs nothing.

    with tracer.span(SPAN_PROMOTE, {"artifact_ref": ref, "from_env": src, "to_env": dst,
                                    "dry_run": False}) as span:
        ...
        span.set_attribute("promotion_id", pid)

Span names and their attributes:

- ``floe.oci.promote``: artifact_ref, from_env, to_env, dry_run
- ``floe.oci.promote.verify``: enforcement_mode, cached
- ``floe.oci.gate.<name>``: gate_type, timeout_seconds, duration_ms
- ``floe.oci.tag.write``: tag, registry
- ``floe.oci.rollback``: artifact_ref, environment, reason
- ``floe.oci.lock`` / ``floe.oci.unlock``: environment, reason
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

AttrValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]
Attrs = Mapping[str, AttrValue | None]

SPAN_PROMOTE = "floe.oci.promote"
SPAN_VERIFY = "floe.oci.promote.verify"
SPAN_TAG_WRITE = "floe.oci.tag.write"
SPAN_TAG_DELETE = "floe.oci.tag.delete"
SPAN_GC = "floe.oci.gc"
SPAN_ROLLBACK = "floe.oci.rollback"
SPAN_LOCK = "floe.oci.lock"
SPAN_UNLOCK = "floe.oci.unlock"
GATE_SPAN_PREFIX = "floe.oci.gate."


def gate_span_name(gate: str) -> str:
    """``floe.oci.gate.<gate>``, the span of one gate (OBS-03)."""
    return GATE_SPAN_PREFIX + gate


class Span(Protocol):
    """What the domain may do with an open span."""

    def set_attribute(self, key: str, value: AttrValue | None) -> None: ...

    def add_event(self, name: str, attrs: Attrs | None = None) -> None: ...


class Tracer(Protocol):
    """Opens a span as a context manager; a span opened inside another is its child.

    An exception leaving the ``with`` block marks the span as failed and propagates.
    """

    def span(self, name: str, attrs: Attrs | None = None) -> AbstractContextManager[Span]: ...


class NoopSpan:
    """A span that records nothing."""

    def set_attribute(self, key: str, value: AttrValue | None) -> None:
        """Ignore the attribute."""

    def add_event(self, name: str, attrs: Attrs | None = None) -> None:
        """Ignore the event."""


NOOP_SPAN = NoopSpan()


class NoopTracer:
    """The default tracer: spans cost nothing and go nowhere."""

    def span(self, name: str, attrs: Attrs | None = None) -> AbstractContextManager[Span]:
        return nullcontext(NOOP_SPAN)

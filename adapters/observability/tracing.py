"""OpenTelemetry traces for the commands that write (FR-024, FR-033, OBS-01..05).

    telemetry = init_tracing(os.environ)          # reads the standard OTEL_* variables
    with telemetry.span("floe.oci.promote", {"to_env": "prod", "dry_run": False}) as span:
        with telemetry.span("floe.oci.tag.write", {"tag": "v1.2.3-prod"}):
            ...
    print(telemetry.trace_id)                     # the trace the spans belong to
    telemetry.shutdown()                          # flushes; at most ~2 s if the collector is down

Spans are exported over OTLP/HTTP (protobuf) when ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (or ``OTEL_TRACES_EXPORTER`` names ``otlp``,
then to http://localhost:4318), to stderr with ``OTEL_TRACES_EXPORTER=console``, and
nowhere otherwise. ``OTEL_SDK_DISABLED=true`` turns tracing off. OpenTelemetry is imported
only when something is exported; otherwise spans are free and only the trace id exists.

A ``TRACEPARENT`` (W3C) in the environment makes every top-level span a child of the CI's
span, so ``trace_id`` is the CI trace's id. Without one, a fresh id is chosen up front and
every top-level span of the process uses it, so the id printed and the exported spans
agree. ``OTEL_EXPORTER_OTLP_TIMEOUT`` is read as seconds when at most 300 (as the Python
SDK does), else as milliseconds (as the specification says).

An exception that ends a span is recorded as the SDK would (an ``exception`` event, ERROR
status) but scrubbed by :func:`.redact.scrub` first, with the values of the secret-named
variables in ``env``: spans go to a third-party backend.
"""

from __future__ import annotations

import re
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.observability.redact import scrub, secret_values
from floe_ledger.domain.services.tracing import NOOP_SPAN, Attrs, AttrValue, Span

SHUTDOWN_TIMEOUT_SECONDS = 2.0
DEFAULT_OTLP_ENDPOINT = "http://localhost:4318/v1/traces"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_TRUE = ("true", "1", "yes", "on")


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """(trace_id, parent span id) from a W3C traceparent, or None if absent/invalid."""
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or set(match[1]) == {"0"} or set(match[2]) == {"0"}:
        return None
    return match[1], match[2]


def current_trace_id(env: Mapping[str, str]) -> str:
    """The CI trace's id if TRACEPARENT names one, else a new random 32-hex id.

    Cheap (no OpenTelemetry import): for read-only commands that open no spans.
    """
    parsed = parse_traceparent(env.get("TRACEPARENT"))
    return parsed[0] if parsed else secrets.token_hex(16)


@dataclass(frozen=True)
class ExportSettings:
    """Where spans go, read from the standard OTEL_* variables."""

    exporters: tuple[str, ...]  # "otlp" and/or "console"
    endpoint: str = DEFAULT_OTLP_ENDPOINT
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 10.0
    compression: str = "none"
    sampler: str = "parentbased_always_on"
    sampler_arg: str = ""
    service_name: str = "floe"
    resource_attributes: Mapping[str, str] = field(default_factory=dict)


def _first(env: Mapping[str, str], *names: str) -> str:
    return next((env[n].strip() for n in names if env.get(n, "").strip()), "")


def _pairs(raw: str) -> dict[str, str]:
    """``k=v,k2=v2`` with URL-encoded values, as OTEL_*_HEADERS and resource attributes."""
    out: dict[str, str] = {}
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(value.strip())
    return out


def _timeout(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        return 10.0
    return value if value <= 300 else value / 1000.0


def _endpoint(env: Mapping[str, str]) -> str:
    explicit = _first(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if explicit:
        return explicit
    base = _first(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    return base.rstrip("/") + "/v1/traces" if base else ""


def export_settings(env: Mapping[str, str], service_name: str = "floe") -> ExportSettings | None:
    """What the OTEL_* variables ask for; None when nothing is to be exported."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return None
    endpoint = _endpoint(env)
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    named = [n for n in names if n in ("otlp", "console")]
    if "none" in names or (not named and not endpoint):
        return None
    return ExportSettings(
        exporters=tuple(named or ["otlp"]),
        endpoint=endpoint or DEFAULT_OTLP_ENDPOINT,
        headers=_pairs(_first(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                              "OTEL_EXPORTER_OTLP_HEADERS")),
        timeout_seconds=_timeout(_first(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
                                        "OTEL_EXPORTER_OTLP_TIMEOUT") or "10"),
        compression=_first(env, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
                           "OTEL_EXPORTER_OTLP_COMPRESSION").lower() or "none",
        sampler=_first(env, "OTEL_TRACES_SAMPLER").lower() or "parentbased_always_on",
        sampler_arg=_first(env, "OTEL_TRACES_SAMPLER_ARG"),
        service_name=_first(env, "OTEL_SERVICE_NAME") or service_name,
        resource_attributes=_pairs(env.get("OTEL_RESOURCE_ATTRIBUTES", "")),
    )


def _clean(attrs: Attrs | None) -> dict[str, AttrValue]:
    """OpenTelemetry takes str/bool/int/float (or sequences of them); None is dropped."""
    out: dict[str, AttrValue] = {}
    for key, value in (attrs or {}).items():
        if value is None:
            continue
        if isinstance(value, str | bool | int | float):
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [str(v) for v in value]
        else:
            out[key] = str(value)
    return out


class OtelSpan:
    """An SDK span seen through the domain's :class:`~floe_ledger.domain.services.tracing.Span`."""

    def __init__(self, span: Any) -> None:
        self.raw = span

    @property
    def span_id(self) -> str:
        return format(self.raw.get_span_context().span_id, "016x")

    def set_attribute(self, key: str, value: AttrValue | None) -> None:
        cleaned = _clean({key: value})
        if cleaned:
            self.raw.set_attribute(key, cleaned[key])

    def add_event(self, name: str, attrs: Attrs | None = None) -> None:
        self.raw.add_event(name, attributes=_clean(attrs))


class Telemetry:
    """The tracer of one CLI invocation; satisfies the domain's Tracer port.

    Build it with :func:`init_tracing`; call :meth:`shutdown` once at the end.
    """

    def __init__(self, trace_id: str, *, provider: Any = None, root_context: Any = None,
                 secrets: frozenset[str] = frozenset()) -> None:
        self._trace_id = trace_id
        self._provider = provider
        self._root_context = root_context
        self._secrets = secrets  # masked in exceptions recorded on spans
        self._tracer = provider.get_tracer("floe_ledger") if provider is not None else None

    @property
    def trace_id(self) -> str:
        """The 32-hex id of the trace every span of this process belongs to."""
        return self._trace_id

    @property
    def exporting(self) -> bool:
        """True when spans are recorded and sent somewhere."""
        return self._tracer is not None

    def span(self, name: str, attrs: Attrs | None = None) -> AbstractContextManager[Span]:
        """A span, child of the current one (or of the CI's span when there is none).

        Threads start with no current span: submit work with
        ``pool.submit(contextvars.copy_context().run, fn, ...)`` to keep the parent.
        """
        if self._tracer is None:
            return nullcontext(NOOP_SPAN)
        return self._sdk_span(name, attrs)

    @contextmanager
    def _sdk_span(self, name: str, attrs: Attrs | None) -> Iterator[Span]:
        from opentelemetry import trace

        current = trace.get_current_span().get_span_context().is_valid
        parent = None if current else self._root_context
        with self._tracer.start_as_current_span(  # type: ignore[union-attr]
            name, context=parent, attributes=_clean(attrs),
            record_exception=False, set_status_on_exception=False,
        ) as span:
            try:
                yield OtelSpan(span)
            except BaseException as exc:
                self._record_exception(span, exc)
                raise

    def _record_exception(self, span: Any, exc: BaseException) -> None:
        """What the SDK records for an exception (an ``exception`` event, ERROR status), with
        every text scrubbed: an exception's message may quote a URL or a credential."""
        import traceback

        from opentelemetry.trace import Status, StatusCode

        kind = type(exc).__qualname__
        message = scrub(str(exc), self._secrets)
        span.add_event("exception", {
            "exception.type": kind, "exception.message": message,
            "exception.stacktrace": scrub("".join(traceback.format_exception(exc)),
                                          self._secrets),
            "exception.escaped": "False",
        })
        span.set_status(Status(StatusCode.ERROR, f"{kind}: {message}"))

    def traceparent(self) -> str:
        """W3C traceparent of the current span (for child processes such as gate commands)."""
        if self._tracer is not None:
            from opentelemetry import trace

            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid:
                return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
        return ""

    def shutdown(self, timeout_seconds: float = SHUTDOWN_TIMEOUT_SECONDS) -> bool:
        """Flush and stop; gives up after ``timeout_seconds`` (a down collector never hangs).

        Returns:
            True if everything was flushed (or nothing had to be).
        """
        provider, self._provider, self._tracer = self._provider, None, None
        if provider is None:
            return True
        done = threading.Event()

        def run() -> None:
            try:
                provider.shutdown()
            finally:
                done.set()

        threading.Thread(target=run, name="floe-otel-shutdown", daemon=True).start()
        if done.wait(max(0.0, timeout_seconds)):
            return True
        get_logger("floe.telemetry").warning(
            "telemetry.flush_timeout", seconds=timeout_seconds,
            hint="spans may be lost: is the OTLP endpoint reachable?")
        return False


def init_tracing(env: Mapping[str, str], service_name: str = "floe", *,
                 trace_id: str | None = None) -> Telemetry:
    """Tracing configured by the standard OTEL_* variables in ``env`` (never os.environ).

    Args:
        env: the process environment (or a test's mapping).
        service_name: ``service.name`` unless OTEL_SERVICE_NAME is set.
        trace_id: the id to use when TRACEPARENT names none (one already printed);
            default: a fresh one.
    """
    settings = export_settings(env, service_name)
    parsed = parse_traceparent(env.get("TRACEPARENT"))
    if settings is None:
        return Telemetry(parsed[0] if parsed else trace_id or secrets.token_hex(16))
    from floe_ledger.adapters.observability.otel_sdk import build_provider, extract_parent

    root_context, trace_id = extract_parent(env, trace_id)
    return Telemetry(trace_id, provider=build_provider(settings, int(trace_id, 16), sys.stderr),
                     root_context=root_context, secrets=frozenset(secret_values(env)))

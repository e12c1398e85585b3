"""The OpenTelemetry SDK side of :mod:`.tracing`, imported only to export.

Importing this module loads the SDK and the OTLP/HTTP exporter (~130 ms or more), which
is why :func:`.tracing.init_tracing` imports it only when spans are to be exported.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from contextlib import suppress
from importlib import metadata
from typing import IO, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider, sampling
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from floe_ledger.adapters.observability.tracing import ExportSettings


class FixedTraceIdGenerator(RandomIdGenerator):
    """Every top-level span of the process gets the trace id chosen (and printed) up front."""

    def __init__(self, trace_id: int) -> None:
        self._trace_id = trace_id

    def generate_trace_id(self) -> int:
        return self._trace_id


def extract_parent(env: Mapping[str, str],
                   fallback: str | None = None) -> tuple[Context, str]:
    """The CI's span from TRACEPARENT/TRACESTATE (W3C) as a parent context, and the trace id.

    Without a valid TRACEPARENT: an empty context and ``fallback`` (else a fresh random id).
    """
    carrier = {"traceparent": env.get("TRACEPARENT", "").strip()}
    if env.get("TRACESTATE", "").strip():
        carrier["tracestate"] = env["TRACESTATE"].strip()
    ctx = TraceContextTextMapPropagator().extract(carrier) if carrier["traceparent"] else Context()
    span_context = trace.get_current_span(ctx).get_span_context()
    if span_context.is_valid:
        return ctx, format(span_context.trace_id, "032x")
    return Context(), fallback or secrets.token_hex(16)


def _sampler(name: str, arg: str) -> sampling.Sampler:
    try:
        ratio = min(1.0, max(0.0, float(arg))) if arg else 1.0
    except ValueError:
        ratio = 1.0
    choices: dict[str, sampling.Sampler] = {
        "always_on": sampling.ALWAYS_ON,
        "always_off": sampling.ALWAYS_OFF,
        "traceidratio": sampling.TraceIdRatioBased(ratio),
        "parentbased_always_off": sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": sampling.ParentBased(sampling.TraceIdRatioBased(ratio)),
    }
    return choices.get(name, sampling.ParentBased(sampling.ALWAYS_ON))


def _resource(settings: ExportSettings) -> Resource:
    attrs: dict[str, str] = dict(settings.resource_attributes)
    attrs["service.name"] = settings.service_name
    with suppress(metadata.PackageNotFoundError):
        attrs.setdefault("service.version", metadata.version("floe-ledger"))
    return Resource.create(attrs)


def _compression(name: str) -> Compression:
    return {"gzip": Compression.Gzip, "deflate": Compression.Deflate}.get(
        name, Compression.NoCompression)


def _exporters(settings: ExportSettings, console_out: IO[str]) -> list[Any]:
    found: list[Any] = []
    if "otlp" in settings.exporters:
        found.append(OTLPSpanExporter(
            endpoint=settings.endpoint, headers=dict(settings.headers),
            timeout=settings.timeout_seconds, compression=_compression(settings.compression),
        ))
    if "console" in settings.exporters:
        found.append(ConsoleSpanExporter(out=console_out))  # never stdout
    return found


def build_provider(settings: ExportSettings, trace_id: int, console_out: IO[str]) -> TracerProvider:
    """A TracerProvider exporting as ``settings`` say, not registered globally.

    ``shutdown_on_exit`` is off: the caller shuts it down with a bounded wait instead of
    an at-exit hook that could block for the exporter's full retry budget.
    """
    provider = TracerProvider(
        resource=_resource(settings),
        sampler=_sampler(settings.sampler, settings.sampler_arg),
        id_generator=FixedTraceIdGenerator(trace_id),
        shutdown_on_exit=False,
    )
    for exporter in _exporters(settings, console_out):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider

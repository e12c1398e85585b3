"""The standard OTEL_* variables, read from the injected environment (FR-024)."""

from __future__ import annotations

import pytest

from floe_ledger.adapters.observability.tracing import (
    DEFAULT_OTLP_ENDPOINT,
    current_trace_id,
    export_settings,
    parse_traceparent,
)

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.requirement("FR-024")
def test_nothing_is_exported_without_an_endpoint_or_exporter() -> None:
    assert export_settings({}) is None
    assert export_settings({"OTEL_SERVICE_NAME": "x"}) is None


@pytest.mark.requirement("FR-024")
def test_the_base_endpoint_gets_the_traces_path_and_the_signal_endpoint_is_taken_as_is() -> None:
    base = export_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"})
    assert base is not None and base.endpoint == "http://collector:4318/v1/traces"
    signal = export_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
                              "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/custom"})
    assert signal is not None and signal.endpoint == "https://b/custom"
    assert signal.exporters == ("otlp",)


@pytest.mark.requirement("FR-024")
def test_exporter_choice_disable_and_none() -> None:
    named = export_settings({"OTEL_TRACES_EXPORTER": "otlp"})
    assert named is not None and named.endpoint == DEFAULT_OTLP_ENDPOINT
    console = export_settings({"OTEL_TRACES_EXPORTER": "console"})
    assert console is not None and console.exporters == ("console",)
    assert export_settings({"OTEL_TRACES_EXPORTER": "none",
                            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a"}) is None
    assert export_settings({"OTEL_SDK_DISABLED": "TRUE",
                            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a"}) is None


def test_headers_timeout_sampler_and_resource_are_read() -> None:
    s = export_settings({
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://a",
        "OTEL_EXPORTER_OTLP_HEADERS": "api-key=abc%3D,x-team=platform",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "5000",
        "OTEL_TRACES_SAMPLER": "ParentBased_TraceIdRatio",
        "OTEL_TRACES_SAMPLER_ARG": "0.5",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci,team=core",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
    })
    assert s is not None
    assert dict(s.headers) == {"api-key": "abc=", "x-team": "platform"}
    assert s.timeout_seconds == 5.0  # milliseconds, as the specification says
    assert s.sampler == "parentbased_traceidratio" and s.sampler_arg == "0.5"
    assert dict(s.resource_attributes) == {"deployment.environment": "ci", "team": "core"}
    assert s.compression == "gzip"
    seconds = export_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a",
                               "OTEL_EXPORTER_OTLP_TIMEOUT": "7"})
    assert seconds is not None and seconds.timeout_seconds == 7.0  # as the Python SDK reads it


@pytest.mark.requirement("FR-033")
def test_traceparent_parsing() -> None:
    assert parse_traceparent(TP) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert parse_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    assert parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01") is None
    assert parse_traceparent("garbage") is None
    assert current_trace_id({"TRACEPARENT": TP}) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert len(current_trace_id({})) == 32

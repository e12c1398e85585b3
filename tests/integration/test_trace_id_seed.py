"""A read-only command prints a trace id without starting OpenTelemetry; if the run starts
tracing later, its spans carry that same id (issue 14 item 3; FR-033, OBS-05)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floe_ledger.adapters.observability.tracing import current_trace_id, init_tracing
from floe_ledger.domain.services.tracing import SPAN_LOCK
from support.otlp_collector import OtlpCollector

CI_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    with OtlpCollector() as running:
        yield running


@pytest.mark.requirement("FR-033", "FR-024")
def test_spans_use_the_trace_id_printed_before_tracing_started(
        collector: OtlpCollector) -> None:
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{collector.endpoint}/v1/traces"}
    printed = current_trace_id(env)
    telemetry = init_tracing(env, trace_id=printed)
    assert telemetry.trace_id == printed
    with telemetry.span(SPAN_LOCK, {"environment": "prod", "reason": "freeze"}):
        pass
    assert telemetry.shutdown()
    assert [s.trace_id for s in collector.wait_for_spans(1)] == [printed]


@pytest.mark.requirement("FR-033")
def test_a_ci_traceparent_wins_over_a_chosen_id() -> None:
    env = {"TRACEPARENT": f"00-{CI_TRACE}-00f067aa0ba902b7-01"}
    assert current_trace_id(env) == CI_TRACE
    assert init_tracing(env, trace_id="ab" * 16).trace_id == CI_TRACE
    assert init_tracing({}, trace_id="ab" * 16).trace_id == "ab" * 16

"""An exception that ends a span is exported scrubbed, like the logs and the error output:
span events and statuses go to a third-party backend (issue 13, secrets)."""

from __future__ import annotations

import pytest

from floe_ledger.adapters.observability.tracing import init_tracing
from floe_ledger.domain.services.tracing import SPAN_PROMOTE
from support.otlp_collector import OtlpCollector

TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LWNsYWltcw.c2lnbmF0dXJlLXBhcnQ"
PASSWORD = "registry-pw-7f3a9c1e"


@pytest.mark.requirement("FR-024", "OBS-01")
def test_an_exception_recorded_on_a_span_carries_no_secret() -> None:
    with OtlpCollector() as collector:
        telemetry = init_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
                                  "FLOE_OIDC_TOKEN": TOKEN, "FLOE_REGISTRY_PASSWORD": PASSWORD})
        with pytest.raises(RuntimeError), telemetry.span(SPAN_PROMOTE, {"to_env": "dev"}):
            raise RuntimeError(f"GET https://ci:{PASSWORD}@registry.example/v2/ failed; "
                               f"token {TOKEN} refused")
        assert telemetry.shutdown()
        (span,) = collector.wait_for_spans(1)
        body = b"".join(collector.bodies)
    assert span.status_code == 2  # ERROR, with the exception recorded as an event
    assert span.events == ["exception"]
    assert b"RuntimeError" in body and b"[REDACTED]" in body
    for secret in (PASSWORD, TOKEN, *TOKEN.split(".")[1:]):
        assert secret.encode() not in body, secret

"""FR-024, FR-033, OBS-01..05: a real `floe platform promote` sends its spans to an OTLP
endpoint, as a child of the CI trace in TRACEPARENT, under the trace id it prints."""

from __future__ import annotations

import pytest

from support.otlp_collector import OtlpCollector

CI_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CI_SPAN = "00f067aa0ba902b7"


@pytest.mark.requirement("FR-024", "FR-033", "OBS-01", "OBS-03", "OBS-04", "OBS-05", "SC-003")
def test_promote_spans_reach_the_collector_under_the_printed_trace_id(workspace) -> None:
    workspace.write_manifest(promotion={"environments": [
        {"name": "dev"}, {"name": "staging", "gates": {"tests": True}}, {"name": "prod"}],
        "gate_commands": {"tests": {"command": ["python3", "-c", "print('ok')"]}}})
    workspace.push("v1.0.0")
    assert workspace.run("platform", "promote", "v1.0.0", "--to", "dev").returncode == 0
    with OtlpCollector() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
               "TRACEPARENT": f"00-{CI_TRACE}-{CI_SPAN}-01"}
        code, out = workspace.json("platform", "promote", "v1.0.0", "--from", "dev", "--to",
                                   "staging", env=env)
        assert code == 0, out
        assert out["trace_id"] == CI_TRACE
        spans = {s.name: s for s in collector.wait_for_spans(5)}
    promote = spans["floe.oci.promote"]
    assert promote.trace_id == CI_TRACE
    assert promote.parent_span_id == CI_SPAN
    assert promote.attributes["from_env"] == "dev" and promote.attributes["to_env"] == "staging"
    assert promote.attributes["dry_run"] is False
    for child in ("floe.oci.promote.verify", "floe.oci.gate.tests",
                  "floe.oci.gate.policy_compliance", "floe.oci.tag.write"):
        assert spans[child].trace_id == CI_TRACE, child
        assert spans[child].parent_span_id == promote.span_id, child
    assert spans["floe.oci.gate.tests"].attributes["gate_type"] == "command"
    assert spans["floe.oci.gate.tests"].attributes["duration_ms"] >= 0
    assert "cached" in spans["floe.oci.promote.verify"].attributes

"""Run a promotion's gates in parallel and collect one GateResult per spec, in spec order.

Example::

    specs = plan_gates("staging", env.gates, promotion.gate_commands, env_timeout)
    ctx = GateContext(artifact_ref=ref, artifact_digest=digest, artifact_tag="v1.2.3-dev",
                      source_env="dev", target_env="staging", facts=facts,
                      policies=tuple(effective_policies(promotion.policies)))
    results = run_gates(specs, ctx, on_result=print)
    if (error := gate_failure(results)) is not None:
        raise error
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

from floe_ledger.adapters.gates.cel_policy import run_policy_gate
from floe_ledger.adapters.gates.command import run_command_gate
from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.adapters.gates.security import run_security_gate
from floe_ledger.adapters.observability.redact import scrub, scrub_data
from floe_ledger.domain.model.gate_results import GateResult
from floe_ledger.domain.model.gates import GateKind, GateSpec
from floe_ledger.domain.services.tracing import NoopTracer, Tracer, gate_span_name

GateHandler = Callable[[GateSpec, GateContext], GateResult]


def _run_policy_gate(spec: GateSpec, ctx: GateContext) -> GateResult:
    return run_policy_gate(spec, ctx)


DEFAULT_HANDLERS: Mapping[GateKind, GateHandler] = {
    "policy": _run_policy_gate,
    "command": run_command_gate,
    "security_scan": run_security_gate,
}


def run_gate(spec: GateSpec, ctx: GateContext,
             handlers: Mapping[GateKind, GateHandler] = DEFAULT_HANDLERS) -> GateResult:
    """Run one gate; whatever goes wrong becomes a FAILED result, with its duration."""
    started = time.monotonic()
    try:
        if spec.error is not None:
            result = GateResult.failed(spec.name, spec.error)
        else:
            handler = handlers.get(spec.kind)
            if handler is None:
                result = GateResult.failed(spec.name, f"no runner for gate kind {spec.kind!r}")
            else:
                result = handler(spec, ctx)
    except Exception as exc:  # a gate must never take the promotion down with it
        result = GateResult.failed(
            spec.name, f"gate crashed: {type(exc).__name__}: {exc}", exception=type(exc).__name__)
    elapsed = max(0, round((time.monotonic() - started) * 1000))
    update: dict[str, Any] = {"gate": spec.name, "duration_ms": elapsed}
    if spec.kind != "policy":  # the policy gate runs no command: no timeout applies
        update |= {"timeout_seconds": spec.timeout_seconds,
                   "timeout_requested": spec.timeout_requested}
    return scrubbed(result, ctx).model_copy(update=update)


def scrubbed(result: GateResult, ctx: GateContext) -> GateResult:
    """``result`` with secrets and credential shapes masked in its error and details (§9).

    Every gate result passes here before anything sees it: the ledger event, the JSON
    output, the error envelope and (summarised) the registry record.
    """
    secrets = ctx.secrets()
    error = None if result.error is None else scrub(result.error, secrets)
    return result.model_copy(update={"error": error,
                                     "details": scrub_data(result.details, secrets)})


def _traced(tracer: Tracer, spec: GateSpec, ctx: GateContext,
            handlers: Mapping[GateKind, GateHandler]) -> GateResult:
    """One gate inside its own span (``floe.oci.gate.<name>``, OBS-03)."""
    with tracer.span(gate_span_name(spec.name), {"gate_type": spec.kind,
                                                 "timeout_seconds": spec.timeout_seconds}) as span:
        result = run_gate(spec, ctx, handlers)
        span.set_attribute("duration_ms", result.duration_ms)
        span.set_attribute("status", str(result.status.value))
        return result


def run_gates(
    specs: Sequence[GateSpec],
    context: GateContext,
    max_workers: int = 4,
    on_result: Callable[[GateResult], None] | None = None,
    handlers: Mapping[GateKind, GateHandler] = DEFAULT_HANDLERS,
    tracer: Tracer | None = None,
) -> list[GateResult]:
    """Run all gates concurrently; results come back in the order of ``specs``.

    Args:
        specs: from :func:`floe_ledger.domain.model.gates.plan_gates`.
        context: the artifact, transition, facts and policies.
        max_workers: gates running at once.
        on_result: called on the calling thread as each gate finishes (for progress
            output or spans); an exception it raises is not caught.
        handlers: the runner per gate kind (tests pass fakes).
        tracer: opens one span per gate, as a child of the caller's current span.
    """
    if not specs:
        return []
    results: dict[int, GateResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, max_workers),
                            thread_name_prefix="floe-gate") as pool:
        # Each gate runs in a copy of the caller's context, so its span has the right parent.
        futures: dict[Future[GateResult], int] = {
            pool.submit(contextvars.copy_context().run, _traced, tracer or NoopTracer(), spec,
                        context, handlers): i
            for i, spec in enumerate(specs)}
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_result is not None:
                on_result(result)
    return [results[i] for i in range(len(specs))]

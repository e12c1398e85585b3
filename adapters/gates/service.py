"""The gate runner the promotion flow calls (:class:`floe_ledger.domain.services.ports.GateRunner`).

It reads ``artifacts.promotion`` (gates per environment, ``gate_commands``,
``policies``, timeouts, ``max_parallel_gates``), gathers the policy facts from the
registry, runs the gates in parallel and returns one typed GateResult per gate.

Example (composition root)::

    gates = ConfiguredGates(manifest.artifacts.promotion, workdir=str(settings.base_dir))
    gates.validate()            # optional: bad config -> ConfigError (exit 2) up front
    PromotionService(..., gates=gates)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from floe_ledger.adapters.gates.cel_policy import validate_policies
from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.adapters.gates.executor import run_gates
from floe_ledger.domain.model.config import EnvironmentConfig, PromotionConfig
from floe_ledger.domain.model.errors import FloeError, RegistryUnavailableError
from floe_ledger.domain.model.gate_results import GateResult
from floe_ledger.domain.model.gates import (
    GateCommand,
    GateName,
    GatesConfig,
    GateSpec,
    config_error,
    plan_gates,
)
from floe_ledger.domain.model.policy import (
    Facts,
    Policies,
    PolicyRule,
    SignatureStatus,
    build_facts,
    effective_policies,
)
from floe_ledger.domain.services.ports import GateRequest
from floe_ledger.domain.services.tracing import Tracer

_COMMANDS = TypeAdapter(dict[GateName, GateCommand])
_POLICIES = TypeAdapter(Policies)
_SIGNATURE_STATUSES: tuple[str, ...] = get_args(SignatureStatus)
ALWAYS_SECRET = ("FLOE_REGISTRY_PASSWORD", "FLOE_OIDC_TOKEN", "FLOE_LEDGER_URL")
"""Scrubbed from gate results whatever their names look like (§9)."""


def secret_names(promotion: PromotionConfig) -> tuple[str, ...]:
    """floe's own secrets plus every webhook's ``secret_env`` and header/URL variables."""
    names = list(ALWAYS_SECRET)
    for hook in promotion.webhooks:
        names += [hook.secret_env] if hook.secret_env else []
        names += hook.variables()
    return tuple(dict.fromkeys(names))


def gather_facts(context: GateRequest) -> Facts:
    """Facts for the policy gate: the manifest, its referrers, the signature verdict."""
    manifest = context.manifest or context.registry.get_manifest(context.digest)
    doc = json.loads(manifest.data)
    if not isinstance(doc, dict):
        raise ValueError("the manifest is not a JSON object")
    referrers = [d.artifact_type or d.media_type for d in context.registry.referrers(
        context.digest)]
    status = str(context.signature.get("status", "skipped"))
    signature: Any = status if status in _SIGNATURE_STATUSES else "failed"
    return build_facts(doc, media_type=manifest.media_type, version=context.version,
                       source_env=context.source or "", target_env=context.target,
                       signature_status=signature, referrers=referrers)


class ConfiguredGates:
    """Plans and runs the configured gates for a target environment.

    Args:
        promotion: ``artifacts.promotion`` as validated by the config module.
        workdir: directory gate commands run in and report paths are relative to
            (the manifest's directory).
        base_env: environment gate commands inherit (secrets are removed); None = os.environ.
        on_result: called on the calling thread as each gate finishes.
        include_skipped: also return a ``skipped`` result for each known gate that is
            not enabled for the target (FR-011, ENT-02).
    """

    def __init__(self, promotion: PromotionConfig, *, workdir: str | None = None,
                 base_env: Mapping[str, str] | None = None,
                 on_result: Callable[[GateResult], None] | None = None,
                 include_skipped: bool = True, tracer: Tracer | None = None) -> None:
        self._promotion = promotion
        self._workdir = workdir
        self._base_env = base_env
        self._on_result = on_result
        self._include_skipped = include_skipped
        self._tracer = tracer
        self._gates: dict[str, GatesConfig] = {}

    @functools.cached_property
    def gate_commands(self) -> dict[str, GateCommand]:
        try:
            return _COMMANDS.validate_python(self._promotion.gate_commands)
        except ValidationError as exc:
            raise config_error(exc, "artifacts.promotion.gate_commands") from None

    @functools.cached_property
    def configured_policies(self) -> list[PolicyRule]:
        """``artifacts.promotion.policies`` validated; ConfigError names the rule's key."""
        try:
            return _POLICIES.validate_python(self._promotion.policies or [])
        except ValidationError as exc:
            raise config_error(exc, "artifacts.promotion.policies") from None

    @functools.cached_property
    def policies(self) -> tuple[PolicyRule, ...]:
        return tuple(effective_policies(self.configured_policies))

    def gates_for(self, target: str) -> GatesConfig:
        """The validated ``gates`` map of ``target``; ConfigError names its path."""
        if target not in self._gates:
            index, env = self._environment(target)
            try:
                self._gates[target] = GatesConfig.model_validate(env.gates)
            except ValidationError as exc:
                path = f"artifacts.promotion.environments[{index}].gates"
                raise config_error(exc, path) from None
        return self._gates[target]

    def _environment(self, target: str) -> tuple[int, EnvironmentConfig]:
        env = self._promotion.environment(target)
        return self._promotion.environments.index(env), env

    def _timeout(self, env: EnvironmentConfig) -> int:
        if "gate_timeout_seconds" in env.model_fields_set:
            return env.gate_timeout_seconds
        return self._promotion.default_timeout

    def plan(self, target: str) -> list[GateSpec]:
        """The gates that will run before promoting into ``target`` (dry-run shows these)."""
        _, env = self._environment(target)
        cap = env.gate_timeout_seconds if "gate_timeout_seconds" in env.model_fields_set else None
        return plan_gates(target, self.gates_for(target), self.gate_commands, self._timeout(env),
                          env_cap=cap)

    def validate(self, *, expressions: bool = True) -> None:
        """Check every environment's gates, gate_commands and policies (ConfigError).

        With ``expressions``, policy CEL is compiled too (loads the CEL engine, ~10 ms).
        """
        for env in self._promotion.environments:
            self.plan(env.name)
        if expressions:
            validate_policies(self.configured_policies)

    def gate_names(self, target: str) -> list[str]:
        return [spec.name for spec in self.plan(target)]

    def run(self, context: GateRequest) -> list[GateResult]:
        """Run the gates for ``context.target``; one result per gate.

        Raises:
            RegistryUnavailableError: the registry could not be read for the policy facts
                (exit 5; nothing is recorded, so a re-run resumes the promotion).
        """
        specs = self.plan(context.target)
        facts: Facts | None = None
        facts_error = None
        try:
            facts = gather_facts(context)
        except RegistryUnavailableError:
            raise  # an outage is exit 5 and leaves the promotion to resume, not a failed gate
        except (FloeError, ValueError) as exc:
            facts_error = str(exc)
        ctx = GateContext(
            artifact_ref=context.artifact_ref, artifact_digest=context.digest,
            artifact_tag=context.tag, source_env=context.source or "",
            target_env=context.target, facts=facts, facts_error=facts_error,
            policies=self.policies, base_env=self._base_env, workdir=self._workdir,
            secret_names=secret_names(self._promotion),
        )
        results = run_gates(specs, ctx, max_workers=self._promotion.max_parallel_gates,
                            on_result=self._on_result, tracer=self._tracer)
        if self._include_skipped:
            results += [GateResult.skipped(n) for n in self.gates_for(context.target).disabled()]
        return results

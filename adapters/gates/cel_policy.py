"""The policy_compliance gate: evaluate CEL policy rules over the artifact's facts.

celpy is imported lazily, inside :func:`_environment`: importing it costs about
0.1-0.2 s and building the first ``celpy.Environment`` (the Lark parser) about
0.15 s more, which commands that run no gate (status, history) should not pay.

Every failure fails closed: a rule that is false is a violation; a rule that
cannot be compiled or evaluated, or does not yield a bool, fails the gate with
the CEL error. Call :func:`validate_policies` when loading the manifest to
report bad expressions as configuration errors (exit 2) before any promotion.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.domain.errors import ConfigError
from floe_ledger.domain.gates import GateResult, GateSpec, GateStatus
from floe_ledger.domain.policy import Facts, PolicyRule

_LOCK = threading.Lock()
_UNDECLARED = re.compile(r"undeclared reference to '[^']*'")


@functools.cache
def _environment() -> Any:
    import celpy

    return celpy.Environment()


class CelError(Exception):
    """A CEL expression that does not compile or evaluate; ``str()`` is one readable line."""


@functools.lru_cache(maxsize=512)
def _program(expression: str) -> Any:
    from celpy.celparser import CELParseError

    env = _environment()
    try:
        return env.program(env.compile(expression))
    except CELParseError as exc:
        where = f"line {getattr(exc, 'line', '?')}, column {getattr(exc, 'column', '?')}"
        raise CelError(f"CEL syntax error at {where} in {expression!r}") from None


def compile_expression(expression: str) -> Any:
    """The compiled (cached) CEL program; CelError on a syntax error."""
    with _LOCK:
        return _program(expression)


def _eval_message(exc: Exception) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    undeclared = _UNDECLARED.search(text)
    text = undeclared.group(0) if undeclared else text
    return " ".join(text.split())[:300]


def evaluate(expression: str, activation: Mapping[str, Any]) -> bool:
    """Evaluate a CEL expression to a bool; CelError if it cannot, or yields no bool."""
    from celpy.adapter import json_to_cel
    from celpy.celtypes import BoolType
    from celpy.evaluation import CELEvalError

    program = compile_expression(expression)
    context = {name: json_to_cel(value) for name, value in activation.items()}
    try:
        result = program.evaluate(context)
    except CELEvalError as exc:
        raise CelError(_eval_message(exc)) from None
    except Exception as exc:  # celpy surfaces some type errors raw
        raise CelError(f"{type(exc).__name__}: {exc}") from None
    if isinstance(result, CELEvalError):
        raise CelError(_eval_message(result))
    if not isinstance(result, BoolType | bool):
        raise CelError(f"the expression must yield a bool, not {type(result).__name__}")
    return bool(result)


@dataclass(frozen=True)
class RuleOutcome:
    rule: PolicyRule
    passed: bool
    error: str | None = None

    def describe(self) -> str:
        if self.error is not None:
            return f"policy '{self.rule.name}' could not be evaluated: {self.error}"
        return f"policy '{self.rule.name}' violated: {self.rule.message}"


def check_rule(rule: PolicyRule, facts: Facts) -> RuleOutcome:
    """Evaluate one rule; errors become a failed outcome, never an exception."""
    try:
        return RuleOutcome(rule, evaluate(rule.expression, facts.activation()))
    except CelError as exc:
        return RuleOutcome(rule, False, str(exc))


def evaluate_policies(gate: str, rules: Sequence[PolicyRule], facts: Facts,
                      target_env: str) -> GateResult:
    """Check every rule that applies to ``target_env``; any failure fails the gate."""
    applicable = [r for r in rules if r.applies_to(target_env)]
    outcomes = [check_rule(r, facts) for r in applicable]
    bad = [o for o in outcomes if not o.passed]
    details: dict[str, Any] = {"rules": [r.name for r in applicable]}
    if not bad:
        return GateResult(gate=gate, status=GateStatus.PASSED, details=details)
    details["violations"] = [
        {"rule": o.rule.name, "message": o.rule.message, "expression": o.rule.expression,
         **({"error": o.error} if o.error else {})} for o in bad]
    if len(bad) == 1:
        return GateResult.failed(gate, bad[0].describe(), **details)
    error = f"{len(bad)} policy rules failed: " + "; ".join(o.describe() for o in bad)
    return GateResult.failed(gate, error, **details)


def run_policy_gate(spec: GateSpec, ctx: GateContext) -> GateResult:
    """The policy_compliance gate for a promotion context."""
    if ctx.facts is None:
        why = f": {ctx.facts_error}" if ctx.facts_error else ""
        return GateResult.failed(
            spec.name, f"no facts about the artifact were gathered{why}; policies cannot be "
            "checked")
    return evaluate_policies(spec.name, ctx.policies, ctx.facts, ctx.target_env)


def validate_policies(rules: Sequence[PolicyRule],
                      path: str = "artifacts.promotion.policies") -> None:
    """Raise ConfigError naming ``path[i].expression`` for every rule that does not
    compile or names a fact that does not exist (checked against empty facts)."""
    problems = []
    for i, rule in enumerate(rules):
        try:
            evaluate(rule.expression, Facts().activation())
        except CelError as exc:
            if str(exc).startswith("CEL syntax error") or _UNDECLARED.match(str(exc)):
                problems.append(f"{path}[{i}].expression ({rule.name}): {exc}")
    if problems:
        raise ConfigError(
            "invalid policy expression: " + "; ".join(problems),
            hint="policies are CEL over: manifest, config, annotations, size, layers, created, "
                 "version, version_prerelease, signature, referrers, source_env, target_env",
            details={"problems": problems},
        )

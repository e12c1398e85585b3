"""The policy_compliance gate: evaluate CEL policy rules over the artifact's facts.

CEL comes from ``common-expression-language`` (Rust bindings of the cel-rust
interpreter). Its package ``__init__`` also imports an interactive CLI built on
prompt_toolkit (about 0.5 s); :func:`_native` loads only the compiled extension,
which takes about 10 ms, so a policy gate costs milliseconds, not a second.

Every failure fails closed: a rule that is false is a violation; a rule that
cannot be compiled or evaluated, or does not yield a bool, fails the gate with
the CEL error. Call :func:`validate_policies` when loading the manifest to
report bad expressions as configuration errors (exit 2) before any promotion.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.model.gates import GateSpec
from floe_ledger.domain.model.policy import Facts, PolicyRule

_LOCK = threading.Lock()


@functools.cache
def _native() -> Any:
    """The ``cel.cel`` extension module, loaded without running ``cel/__init__.py``."""
    if "cel.cel" in sys.modules:
        return sys.modules["cel.cel"]
    spec = importlib.util.find_spec("cel")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the CEL engine is not installed",
                          hint="pip install common-expression-language (make dev)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    path = next((folder / f"cel{s}" for s in suffixes if (folder / f"cel{s}").exists()), None)
    if path is None:
        raise ConfigError(f"the CEL engine's compiled module is missing from {folder}")
    loader = importlib.machinery.ExtensionFileLoader("cel.cel", str(path))
    module_spec = importlib.util.spec_from_loader("cel.cel", loader)
    assert module_spec is not None
    module = importlib.util.module_from_spec(module_spec)
    loader.exec_module(module)
    sys.modules["cel.cel"] = module
    return module


class CelError(Exception):
    """A CEL expression that does not compile or evaluate; ``str()`` is one readable line."""


_SYNTAX = re.compile(r"ERROR: <input>:(\d+):(\d+): Syntax error: (.*?)(?: expecting .*)?$")
_UNDEFINED_NAME = re.compile(r"Undefined variable or function: '([^']*)'")


@functools.lru_cache(maxsize=512)
def _program(expression: str) -> Any:
    try:
        return _native().compile(expression)
    except ValueError as exc:
        match = next((m for m in map(_SYNTAX.search, str(exc).splitlines()) if m), None)
        where = f" at line {match[1]}, column {match[2]}" if match else ""
        what = f": {match[3][:120]}" if match else ""
        raise CelError(f"CEL syntax error{where} in {expression!r}{what}") from None


def compile_expression(expression: str) -> Any:
    """The compiled (cached) CEL program; CelError on a syntax error."""
    with _LOCK:
        return _program(expression)


def _eval_message(exc: Exception) -> str:
    """The engine's error as one short line in CEL's own terms."""
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0]!r}" if exc.args else "no such key"
    text = " ".join((str(exc.args[0]) if exc.args else str(exc)).split())
    undefined = _UNDEFINED_NAME.search(text)
    if undefined:
        return f"undeclared reference to '{undefined[1]}'"
    if text.startswith("No such overload"):
        return "no matching overload: " + text.split(":", 1)[-1].split(". ")[0].strip()
    return text[:300]


def evaluate(expression: str, activation: Mapping[str, Any]) -> bool:
    """Evaluate a CEL expression to a bool; CelError if it cannot, or yields no bool."""
    program = compile_expression(expression)
    try:
        result = program.execute(dict(activation))
    except Exception as exc:  # the engine raises RuntimeError/TypeError/ValueError
        raise CelError(_eval_message(exc)) from None
    if not isinstance(result, bool):
        raise CelError(f"the expression must yield a bool, not {type(result).__name__}")
    return result


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
            if str(exc).startswith(("CEL syntax error", "undeclared reference")):
                problems.append(f"{path}[{i}].expression ({rule.name}): {exc}")
    if problems:
        raise ConfigError(
            "invalid policy expression: " + "; ".join(problems),
            hint="policies are CEL over: manifest, config, annotations, size, layers, created, "
                 "version, version_prerelease, signature, referrers, source_env, target_env",
            details={"problems": problems},
        )

"""Validation gates: configuration, the plan of gates to run, results and the verdict.

Pure. The manifest's per-environment ``gates`` map validates into
:class:`GatesConfig`; :func:`plan_gates` joins it with ``gate_commands`` into the
:class:`GateSpec` list an executor runs; :func:`verdict` folds the
:class:`GateResult` list into passed / blocked.

Example::

    gates = GatesConfig.model_validate({"tests": True, "security_scan": {"report": "r.json"}})
    specs = plan_gates("staging", gates, {"tests": GateCommand(command="make test")})
    [s.name for s in specs]  # ['policy_compliance', 'tests', 'security_scan']
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.scan import BlockSeverity, ScannerFormat

POLICY_GATE = "policy_compliance"
SECURITY_GATE = "security_scan"
KNOWN_GATES = (POLICY_GATE, "tests", SECURITY_GATE, "cost_analysis", "performance_baseline")
PLACEHOLDERS = ("ARTIFACT_REF", "ARTIFACT_DIGEST", "ARTIFACT_TAG", "SOURCE_ENV", "TARGET_ENV")
DEFAULT_GATE_TIMEOUT = 300
DEFAULT_SCAN_TIMEOUT = 600
# The patterns are also pydantic (Rust regex) patterns, where "$" is the end of the text;
# Python code must use fullmatch, since re's "$" also matches before a final newline.
GATE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")

GateTimeout = Annotated[int, Field(ge=30, le=3600)]
"""A gate timeout in seconds: 30..3600 (NFR-002)."""
GateName = Annotated[str, Field(pattern=GATE_NAME_RE.pattern)]
GateKind = Literal["policy", "command", "security_scan"]


def split_command(command: Sequence[str] | str) -> tuple[str, ...]:
    """argv of a command: a list as is, a string split like a POSIX shell would (no shell runs)."""
    return tuple(shlex.split(command)) if isinstance(command, str) else tuple(command)


def _check_command(command: list[str] | str) -> list[str] | str:
    try:
        argv = split_command(command)
    except ValueError as exc:
        raise ValueError(f"cannot split the command into arguments: {exc}") from None
    if not argv or not argv[0]:
        raise ValueError("the command is empty")
    for name in (m for arg in argv for m in _PLACEHOLDER_RE.findall(arg)):
        if name not in PLACEHOLDERS:
            known = ", ".join(f"${{{p}}}" for p in PLACEHOLDERS)
            raise ValueError(f"unknown placeholder ${{{name}}}; known: {known}")
    return command


CommandLine = Annotated[list[str] | str, AfterValidator(_check_command)]
EnvName = Annotated[str, Field(pattern=ENV_NAME_RE.pattern)]
PassEnv = Annotated[list[EnvName], Field(max_length=64)]
"""``env:`` of a gate: names of variables passed to its command as they are (§10)."""


def _upper(value: Any) -> Any:
    return [v.upper() if isinstance(v, str) else v for v in value] if isinstance(
        value, list) else value


def _default_block() -> list[BlockSeverity]:
    return ["CRITICAL", "HIGH"]


class GateCommand(BaseModel):
    """``artifacts.promotion.gate_commands.<gate>`` (CFG-23, ENT-17)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: CommandLine
    timeout_seconds: GateTimeout = DEFAULT_GATE_TIMEOUT
    env: PassEnv = Field(default_factory=list)


class GateOverride(BaseModel):
    """An enabled command gate; an inline command or timeout beats ``gate_commands``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: CommandLine | None = None
    timeout_seconds: GateTimeout | None = None
    env: PassEnv | None = None


class SecurityGateConfig(BaseModel):
    """``gates.security_scan`` as an object (CFG-24..28, ENT-13)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: CommandLine | None = None
    report: Annotated[str, Field(min_length=1)] | None = None
    scanner_format: ScannerFormat = "trivy"
    block_on_severity: Annotated[list[BlockSeverity], BeforeValidator(_upper)] = Field(
        default_factory=_default_block)
    ignore_unfixed: StrictBool = False
    timeout_seconds: GateTimeout = DEFAULT_SCAN_TIMEOUT
    env: PassEnv | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecurityGateConfig:
        if self.command is not None and self.report is not None:
            raise ValueError("give either command (run a scanner) or report (a file), not both")
        return self


def _switch(value: Any) -> Any:
    """``true`` enables with defaults, ``false`` disables, a mapping configures."""
    if value is True:
        return {}
    if value is False:
        return None
    if isinstance(value, Mapping | BaseModel):
        return value
    raise ValueError("must be true, false or a mapping")


CommandSwitch = Annotated[
    GateOverride | None, BeforeValidator(_switch, json_schema_input_type=bool | GateOverride)]
SecuritySwitch = Annotated[SecurityGateConfig | None, BeforeValidator(
    _switch, json_schema_input_type=bool | SecurityGateConfig)]


_OFF: Any = Field(default=None, json_schema_extra={"default": False})


class GatesConfig(BaseModel):
    """An environment's ``gates`` map (CFG-09). Unlisted known gates are off; extra keys
    are custom command gates. ``policy_compliance`` always runs (FR-010)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, CommandSwitch]

    policy_compliance: StrictBool = True
    tests: CommandSwitch = _OFF
    security_scan: SecuritySwitch = _OFF
    cost_analysis: CommandSwitch = _OFF
    performance_baseline: CommandSwitch = _OFF

    @field_validator("policy_compliance")
    @classmethod
    def _always_on(cls, value: bool) -> bool:
        if not value:
            raise ValueError("policy_compliance cannot be switched off; it always runs (FR-010)")
        return value

    @model_validator(mode="after")
    def _custom_names(self) -> GatesConfig:
        for name in self.model_extra or {}:
            if not GATE_NAME_RE.fullmatch(name):
                raise ValueError(f"gate name {name!r} must match {GATE_NAME_RE.pattern}")
        return self

    def settings(self) -> dict[str, GateOverride | SecurityGateConfig | None]:
        """Every named gate but policy_compliance, known ones first; None = disabled."""
        known: dict[str, GateOverride | SecurityGateConfig | None] = {
            name: getattr(self, name) for name in KNOWN_GATES[1:]}
        return known | dict(self.model_extra or {})

    def disabled(self) -> list[str]:
        """Known gates that are off here: recorded as skipped (ENT-02)."""
        return [name for name, cfg in self.settings().items() if cfg is None]


@dataclass(frozen=True)
class GateSpec:
    """One gate to run. ``argv`` may hold ``${PLACEHOLDER}`` templates. A spec with
    ``error`` set is misconfigured: running it fails closed with that message."""

    name: str
    kind: GateKind
    timeout_seconds: float
    argv: tuple[str, ...] = ()
    security: SecurityGateConfig | None = None
    error: str | None = None
    env: tuple[str, ...] = ()
    """Variables passed to the command as they are, besides the allowlist (``env:``)."""
    timeout_requested: float | None = None
    """The longer timeout the gate's own settings asked for, when the environment's
    ``gate_timeout_seconds`` capped it to ``timeout_seconds``; None when not capped."""


def capped(spec: GateSpec, cap: int | None) -> GateSpec:
    """``spec`` with its timeout cut to the environment's ``cap`` (if set and shorter)."""
    if cap is None or spec.timeout_seconds <= cap:
        return spec
    return replace(spec, timeout_seconds=cap, timeout_requested=spec.timeout_seconds)


def _timeout(name: str, inline: int | None, commands: Mapping[str, GateCommand],
             fallback: int) -> int:
    """Most specific first: the inline value, then gate_commands, then the fallback."""
    if inline is not None:
        return inline
    entry = commands.get(name)
    if entry is not None and "timeout_seconds" in entry.model_fields_set:
        return entry.timeout_seconds
    return fallback


def _pass_env(inline: list[str] | None, name: str, commands: Mapping[str, GateCommand]
              ) -> tuple[str, ...]:
    """The inline ``env:`` list, else the one in gate_commands, else none."""
    if inline is not None:
        return tuple(inline)
    entry = commands.get(name)
    return tuple(entry.env) if entry is not None else ()


def _missing(name: str, env: str) -> str:
    return (f"gate '{name}' is enabled for {env} but artifacts.promotion.gate_commands "
            f"has no command for it")


def _security_spec(env: str, cfg: SecurityGateConfig,
                   commands: Mapping[str, GateCommand]) -> GateSpec:
    explicit = cfg.timeout_seconds if "timeout_seconds" in cfg.model_fields_set else None
    timeout = _timeout(SECURITY_GATE, explicit, commands, cfg.timeout_seconds)
    spec = GateSpec(SECURITY_GATE, "security_scan", timeout, security=cfg,
                    env=_pass_env(cfg.env, SECURITY_GATE, commands))
    if cfg.report is not None:
        return spec
    command = cfg.command if cfg.command is not None else getattr(
        commands.get(SECURITY_GATE), "command", None)
    if command is None:
        return GateSpec(SECURITY_GATE, "security_scan", timeout, security=cfg,
                        error=_missing(SECURITY_GATE, env) + " (nor a command or report here)")
    return GateSpec(SECURITY_GATE, "security_scan", timeout, split_command(command), cfg,
                    env=spec.env)


def plan_gates(
    env: str,
    gates: GatesConfig,
    gate_commands: Mapping[str, GateCommand],
    env_timeout_seconds: int = DEFAULT_GATE_TIMEOUT,
    env_cap: int | None = None,
) -> list[GateSpec]:
    """The gates to run before promoting into ``env``, policy first (FR-006, FR-012).

    Args:
        env: the target environment (named in fail-closed messages).
        gates: that environment's validated ``gates`` map.
        gate_commands: ``artifacts.promotion.gate_commands``.
        env_timeout_seconds: the environment's ``gate_timeout_seconds`` (else the
            promotion-wide default); used by command gates with no timeout of their own.
        env_cap: the environment's ``gate_timeout_seconds`` when it sets one: no gate of
            the environment runs longer, whatever its own settings ask (FR-012d).
    """
    specs = [GateSpec(POLICY_GATE, "policy", env_timeout_seconds)]
    for name, cfg in gates.settings().items():
        if isinstance(cfg, SecurityGateConfig):
            specs.append(_security_spec(env, cfg, gate_commands))
        elif isinstance(cfg, GateOverride):
            timeout = _timeout(name, cfg.timeout_seconds, gate_commands, env_timeout_seconds)
            command = cfg.command if cfg.command is not None else getattr(
                gate_commands.get(name), "command", None)
            if command is None:
                specs.append(GateSpec(name, "command", timeout, error=_missing(name, env)))
            else:
                specs.append(GateSpec(name, "command", timeout, split_command(command),
                                      env=_pass_env(cfg.env, name, gate_commands)))
    return [capped(spec, env_cap) for spec in specs]


def config_error(exc: ValidationError, path: str) -> ConfigError:
    """A ConfigError listing each problem at its full dotted path under ``path``."""
    problems = []
    for err in exc.errors():
        where = path
        for part in err["loc"]:
            where += f"[{part}]" if isinstance(part, int) else f".{part}"
        problems.append(f"{where}: {err['msg']}")
    return ConfigError(
        "invalid configuration: " + "; ".join(problems),
        hint="fix manifest.yaml at the path(s) named",
        details={"problems": problems},
    )

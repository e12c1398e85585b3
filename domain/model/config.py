"""The ``artifacts:`` section of manifest.yaml (docs/conventions.md#manifest), validated.

Gate and signature settings are validated by their own modules' models; they are
kept as plain mappings here and parsed where they are used, so a bad gate block
is reported with its full key path all the same.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from floe_ledger.domain.model.values import ENV_NAME_RE, EnvironmentPath


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthorizationConfig(_Strict):
    """Who may promote into an environment (ENT-11, FR-045..FR-047).

    ``require_authenticated`` (default true): the operator must be identified by a verified
    OIDC token or a registry credential the registry accepted; false lets a local user's
    groups from ``identity.groups`` count. ``break_glass_groups`` may also use
    ``--break-glass``, which always needs an authenticated operator.
    """

    allowed_groups: list[str] = []
    allowed_operators: list[str] = []
    separation_of_duties: bool = False
    require_authenticated: bool = True
    break_glass_groups: list[str] = []


ROLLBACK_SUFFIX = re.compile(r"(?:^|[-_])rollback[-_][0-9]+\Z")
"""An environment name ending like this would make ``{version}-{env}`` read as a rollback tag."""


class EnvironmentConfig(_Strict):
    name: str
    gates: dict[str, Any] = {}
    gate_timeout_seconds: int = Field(300, ge=30, le=3600)
    authorization: AuthorizationConfig | None = None
    #: Whether a ``{version}-{name}`` tag floe has no record of (pushed by hand or by
    #: another tool) still counts as evidence the version passed this environment.
    trust_unrecorded_tags: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ENV_NAME_RE.match(value):
            raise ValueError(
                f"{value!r} is not a valid environment name (lower-case letters and digits, "
                "in words joined by single '-' or '_', starting with a letter, at most 31 "
                "characters)"
            )
        if ROLLBACK_SUFFIX.search(value):
            raise ValueError(f"{value!r} is not a valid environment name: it ends like a "
                             "rollback tag ('-rollback-<N>')")
        return value

    @field_validator("gates")
    @classmethod
    def _policy_always_on(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("policy_compliance") is False:
            raise ValueError("policy_compliance always runs and cannot be switched off")
        return value


def _default_environments() -> list[EnvironmentConfig]:
    return [EnvironmentConfig(name=n) for n in ("dev", "staging", "prod")]


TEMPLATE_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""``${VAR}`` in a webhook URL or header value."""
WEBHOOK_ENV_PREFIX = "FLOE_WEBHOOK_"


class WebhookConfig(_Strict):
    url: str
    events: list[Literal["promote", "rollback", "lock", "unlock", "reject"]] = [
        "promote", "rollback"]
    headers: dict[str, str] = {}
    header_env: list[str] = []
    """Variables ``${VAR}`` may name besides ``FLOE_WEBHOOK_*`` (WH-01, §15)."""
    timeout_seconds: float = Field(30, gt=0, le=300)
    retry_count: int = Field(3, ge=0, le=10)
    secret_env: str | None = None

    def variables(self) -> list[str]:
        """Every ``${VAR}`` the URL and the header values name."""
        return [v for t in (self.url, *self.headers.values()) for v in TEMPLATE_VAR.findall(t)]

    def may_expand(self, name: str) -> bool:
        """Whether ``${name}`` may be filled in: ``FLOE_WEBHOOK_*`` or listed in header_env."""
        return name.startswith(WEBHOOK_ENV_PREFIX) or name in self.header_env


class PromotionConfig(_Strict):
    environments: list[EnvironmentConfig] = Field(default_factory=_default_environments)
    gate_commands: dict[str, Any] = {}
    policies: list[dict[str, Any]] | None = None
    webhooks: list[WebhookConfig] = []
    default_timeout: int = Field(300, ge=30, le=3600)
    max_parallel_gates: int = Field(4, ge=1, le=32)

    @field_validator("environments")
    @classmethod
    def _unique(cls, value: list[EnvironmentConfig]) -> list[EnvironmentConfig]:
        if not value:
            raise ValueError("list at least one environment (default is dev, staging, prod)")
        names = [e.name for e in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"environment names must be unique; repeated: {', '.join(dupes)}")
        return value

    @property
    def path(self) -> EnvironmentPath:
        return EnvironmentPath(tuple(e.name for e in self.environments))

    def trusts_unrecorded_tags(self, env: str) -> bool:
        """Whether a ``{version}-{env}`` tag floe has no record of still counts as evidence the
        version passed ``env``: the first environment's does; others only where
        ``trust_unrecorded_tags: true`` says so."""
        return env == self.path.names[0] or self.environment(env).trust_unrecorded_tags

    def environment(self, name: str) -> EnvironmentConfig:
        self.path.index(name)  # raises UsageError naming the path
        return next(e for e in self.environments if e.name == name)


class RegistryConfig(_Strict):
    uri: str
    plain_http: bool = False
    ca_file: str | None = None
    verification: dict[str, Any] = {}
    insecure_registries: list[str] = []  # host[:port] off loopback that plain_http may reach
    timeout_seconds: float = Field(30, gt=0, le=600)
    """Seconds floe waits for an answer to one request (the registry and every replica)."""

    @field_validator("uri")
    @classmethod
    def _uri(cls, value: str) -> str:
        if not value.strip() or re.search(r"\s", value):
            raise ValueError("must be oci://host[:port]/repository or oci-layout:path")
        return value


class ReplicaConfig(_Strict):
    uri: str
    plain_http: bool = False
    ca_file: str | None = None
    name: str | None = None


class OidcConfig(_Strict):
    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    groups_claim: str = "groups"

    @model_validator(mode="after")
    def _one_source(self) -> OidcConfig:
        if not (self.jwks_url or self.jwks_file):
            raise ValueError("set jwks_url or jwks_file for the issuer's signing keys")
        return self


class IdentityConfig(_Strict):
    oidc: OidcConfig | None = None
    groups: dict[str, list[str]] = {}


class DependentConfig(_Strict):
    name: str
    repository: str | None = None
    constraint: str | None = None


class S3ArchiveConfig(_Strict):
    """The S3 Object Lock audit archive (``artifacts.audit.s3``, ARCH-01..). Credentials are
    never here: boto3 takes them from the standard AWS chain."""

    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]+[a-z0-9]$")
    prefix: str = ""
    retention_days: int = Field(ge=1, le=36500)
    mode: Literal["compliance", "governance"] = "compliance"
    endpoint_url: str | None = None  # an S3-compatible server (MinIO, Ceph, ...)
    region: str | None = None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")


class AuditConfig(BaseModel):
    """Write-once audit archives (``artifacts.audit``): ``s3`` is built in; any other key
    names a sink installed through the ``floe.audit_sinks`` entry point group and holds its
    settings, passed to it as they are."""

    model_config = ConfigDict(extra="allow", frozen=True,
                              json_schema_extra={"additionalProperties": {"type": "object"}})
    s3: S3ArchiveConfig | None = None

    def sinks(self) -> dict[str, dict[str, Any]]:
        """Every configured sink's name and settings, ``s3`` first."""
        found: dict[str, dict[str, Any]] = {}
        if self.s3 is not None:
            found["s3"] = self.s3.model_dump()
        for name, value in (self.model_extra or {}).items():
            found[name] = dict(value) if isinstance(value, dict) else {}
        return found

    @model_validator(mode="after")
    def _extra_are_mappings(self) -> AuditConfig:
        for name, value in (self.model_extra or {}).items():
            if value is not None and not isinstance(value, dict):
                raise ValueError(f"audit sink {name!r}: settings must be a mapping")
        return self


class ArtifactsConfig(_Strict):
    registry: RegistryConfig
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    replicas: list[ReplicaConfig] = []
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    dependents: list[DependentConfig] = []
    audit: AuditConfig = Field(default_factory=AuditConfig)


class ManifestConfig(BaseModel):
    """The whole manifest.yaml; only ``artifacts`` is ours, other top-level keys are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)
    artifacts: ArtifactsConfig

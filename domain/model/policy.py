"""Policy rules for the ``policy_compliance`` gate, the default rule set, and the facts.

Pure. A rule is a CEL expression over :class:`Facts` that must evaluate to
``true``; the evaluation itself lives in
:mod:`floe_ledger.adapters.gates.cel_policy` (the CEL engine loads only when a policy
gate runs).

Facts visible to an expression::

    manifest.media_type  manifest.artifact_type  config.media_type
    annotations (map)  size (bytes of layers + config)  layers (count)
    created  version  version_prerelease  signature.status
    referrers (list of artifactType)  source_env  target_env

Example manifest.yaml::

    artifacts:
      promotion:
        policies:
          - name: has-sbom
            expression: '"application/spdx+json" in referrers'
            message: an SPDX SBOM must be attached before prod
            environments: [prod]

Configured rules are added to :data:`DEFAULT_POLICIES`; a configured rule with a
default's name replaces it (e.g. ``expression: "true"`` to waive it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from floe_ledger.domain.model.gates import GATE_NAME_RE
from floe_ledger.domain.model.oci import MANIFEST_MEDIA_TYPES
from floe_ledger.domain.model.values import VERSION_RE

SignatureStatus = Literal["verified", "unsigned", "failed", "skipped", "warning"]
SBOM_SPDX = "application/spdx+json"
SBOM_CYCLONEDX = "application/vnd.cyclonedx+json"
PROVENANCE_IN_TOTO = "application/vnd.in-toto+json"
CREATED_ANNOTATION = "org.opencontainers.image.created"
TWO_GIB = 2 * 1024**3


class PolicyRule(BaseModel):
    """``artifacts.promotion.policies[]``: passes when ``expression`` is true."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=GATE_NAME_RE.pattern)]
    expression: Annotated[str, Field(min_length=1)]
    message: Annotated[str, Field(min_length=1)]
    environments: tuple[str, ...] | None = None

    def applies_to(self, env: str) -> bool:
        """True when the rule is for every environment or lists ``env``."""
        return self.environments is None or env in self.environments


def _unique_names(rules: list[PolicyRule]) -> list[PolicyRule]:
    names = [r.name for r in rules]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"policy names must be unique; repeated: {', '.join(repeated)}")
    return rules


Policies = Annotated[list[PolicyRule], AfterValidator(_unique_names)]
"""The type of ``artifacts.promotion.policies`` (default: empty = only the defaults)."""

_MEDIA_TYPES = ", ".join(f'"{t}"' for t in MANIFEST_MEDIA_TYPES)

DEFAULT_POLICIES: tuple[PolicyRule, ...] = (
    PolicyRule(
        name="manifest-is-oci",
        expression=f"manifest.media_type in [{_MEDIA_TYPES}]",
        message="the artifact must be an OCI (or Docker v2) manifest or index",
    ),
    PolicyRule(
        name="size-limit",
        expression=f"size < {TWO_GIB}",
        message="the artifact (layers + config) must be smaller than 2 GiB",
    ),
    PolicyRule(
        name="version-is-release",
        expression="!version_prerelease",
        message="only release versions (no -rc, -beta, ...) may be promoted to prod",
        environments=("prod",),
    ),
)


def effective_policies(configured: Sequence[PolicyRule] = ()) -> list[PolicyRule]:
    """Defaults plus configured rules; a configured rule replaces a default of its name."""
    by_name = {r.name: r for r in DEFAULT_POLICIES}
    by_name.update({r.name: r for r in configured})
    return list(by_name.values())


class ManifestFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    media_type: str = ""
    artifact_type: str = ""


class ConfigFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    media_type: str = ""


class SignatureFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    status: SignatureStatus = "skipped"


class Facts(BaseModel):
    """What a policy expression may look at; field names are the CEL names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    manifest: ManifestFacts = Field(default_factory=ManifestFacts)
    config: ConfigFacts = Field(default_factory=ConfigFacts)
    annotations: dict[str, str] = Field(default_factory=dict)
    size: int = 0
    layers: int = 0
    created: str = ""
    version: str = ""
    version_prerelease: bool = False
    signature: SignatureFacts = Field(default_factory=SignatureFacts)
    referrers: tuple[str, ...] = ()
    source_env: str = ""
    target_env: str = ""

    def activation(self) -> dict[str, Any]:
        """The facts as plain JSON values, ready to become a CEL activation."""
        return self.model_dump(mode="json")


def is_prerelease(version: str) -> bool:
    """True for ``v1.2.3-rc.1``; a version that is not semver counts as not a release."""
    match = VERSION_RE.match(version)
    return match is None or bool(match["pre"])


def _descriptors(manifest: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = manifest.get(key)
    return [d for d in items if isinstance(d, Mapping)] if isinstance(items, list) else []


def _size(descriptor: Mapping[str, Any]) -> int:
    size = descriptor.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) else 0


def build_facts(
    manifest: Mapping[str, Any],
    *,
    media_type: str,
    version: str,
    source_env: str,
    target_env: str,
    signature_status: SignatureStatus = "skipped",
    referrers: Sequence[str] = (),
) -> Facts:
    """Facts from a decoded manifest (image manifest or index) and what is known about it.

    Args:
        manifest: the manifest JSON, decoded.
        media_type: the manifest's media type as the registry served it (else the
            manifest's own ``mediaType`` field is used).
        version: the version being promoted, e.g. ``v1.2.3``.
        signature_status: the verification outcome (``skipped`` when enforcement is off).
        referrers: artifactType of each referrer (SBOM, provenance, ...).
    """
    raw_config = manifest.get("config")
    config: Mapping[str, Any] = raw_config if isinstance(raw_config, Mapping) else {}
    layers = _descriptors(manifest, "layers")
    parts = layers or _descriptors(manifest, "manifests")
    annotations = manifest.get("annotations")
    notes = {str(k): str(v) for k, v in annotations.items()} if isinstance(
        annotations, Mapping) else {}
    return Facts(
        manifest=ManifestFacts(
            media_type=media_type or str(manifest.get("mediaType") or ""),
            artifact_type=str(manifest.get("artifactType") or ""),
        ),
        config=ConfigFacts(media_type=str(config.get("mediaType") or "")),
        annotations=notes,
        size=sum(_size(d) for d in parts) + _size(config),
        layers=len(layers),
        created=notes.get(CREATED_ANNOTATION, ""),
        version=version,
        version_prerelease=is_prerelease(version),
        signature=SignatureFacts(status=signature_status),
        referrers=tuple(referrers),
        source_env=source_env,
        target_env=target_env,
    )

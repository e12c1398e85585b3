"""Where a promotion starts: the source tag in the registry, checked against the ledger, and
whether an environment tag is evidence that a version passed that environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import (
    IntegrityError,
    NotFoundError,
    TagExistsError,
    UnexplainedTagError,
)
from floe_ledger.domain.model.oci import Descriptor
from floe_ledger.domain.model.values import VERSION_RE, env_tag, split_env_tag
from floe_ledger.domain.services.ports import Registry


@dataclass(frozen=True)
class SourceResolution:
    tag: str
    digest: str
    media_type: str


def source_tag(version: str, source: str | None) -> str:
    """The tag a promotion starts from: ``{version}-{source}``, or the release tag."""
    return version if source is None else env_tag(version, source)


def resolve_tag(registry: Registry, tag: str,
                resolved: Mapping[str, Descriptor | None] | None = None) -> Descriptor | None:
    """What ``tag`` names: as this command's reconciliation already read it, else asked."""
    if resolved is not None and tag in resolved:
        return resolved[tag]
    return registry.resolve(tag)


def resolve_source(registry: Registry, artifact: Artifact, version: str, source: str | None,
                   environments: tuple[str, ...], *, trusted: bool = True,
                   resolved: Mapping[str, Descriptor | None] | None = None) -> SourceResolution:
    """Resolve ``{version}-{source}`` (or the release tag ``version``) to its digest.

    ``trusted``: whether the tag alone is evidence that the version passed ``source``;
    otherwise a floe record (of any ledger) or an adoption must explain it.

    Raises:
        NotFoundError: no such tag; lists the versions that are there (exit 3).
        IntegrityError: the ledger recorded the version in ``source`` but the tag is gone.
        UnexplainedTagError: the tag is there but nothing floe recorded explains it (exit 9).
    """
    tag = source_tag(version, source)
    found = resolve_tag(registry, tag, resolved)
    if found is None:
        if source is not None and artifact.completed(version, source):
            raise IntegrityError(
                f"{tag} was promoted by floe but is missing from {registry.uri}",
                hint="the tag was removed outside floe; run 'floe audit verify --registry'",
            )
        available = available_versions(registry, artifact, source, environments)
        where = f"promoted to {source}" if source else "released"
        raise NotFoundError(
            f"{version} is not {where} in {registry.uri} (no tag {tag})",
            hint=("versions available: " + ", ".join(available)) if available
            else "no versions found; publish one first ('floe artifact push')",
            details={"tag": tag, "available_versions": available},
        )
    if source is not None and not trusted:
        check_explained(artifact, version, source, found.digest)
    return SourceResolution(tag=tag, digest=found.digest, media_type=found.media_type)


def check_explained(artifact: Artifact, version: str, env: str, digest: str) -> None:
    """Refuse ``{version}-{env}`` as evidence that the version passed ``env`` unless a
    promotion, a record of another ledger or an adoption explains it (at that digest)."""
    tag = env_tag(version, env)
    done = artifact.completed(version, env)
    if done is not None and done.digest == digest:
        return
    if done is not None:
        raise IntegrityError(
            f"{tag} is {digest} in the registry but floe recorded {version} in {env} as "
            f"{done.digest}", hint="the tag was moved outside floe; run 'floe audit verify "
            "--registry'", details={"tag": tag, "registry_digest": digest,
                                    "ledger_digest": done.digest})
    raise UnexplainedTagError(
        f"{tag} was not written by floe: no floe record shows {version} passed {env}, so its "
        "gates, signature check and authorization may never have run",
        hint=f"if it was promoted another way, adopt it deliberately: 'floe ledger adopt "
        f"{version} --env {env} --reason TEXT'",
        details={"tag": tag, "digest": digest, "environment": env})


def available_versions(registry: Registry, artifact: Artifact, source: str | None,
                       environments: tuple[str, ...]) -> list[str]:
    """Versions present in ``source`` (or released, for None), from the registry and ledger."""
    found: set[str] = set()
    for tag in registry.list_tags():
        split = split_env_tag(tag, environments)
        if source is None:
            if VERSION_RE.match(tag) and split is None:
                found.add(tag)
        elif split is not None and split[1] == source:
            found.add(split[0])
    if source is not None:
        found.update(artifact.versions_in(source))
    return sorted(found, key=_version_key)


def _version_key(text: str) -> tuple[int, ...]:
    match = VERSION_RE.match(text)
    if not match:
        return (0,)
    return (int(match["major"]), int(match["minor"]), int(match["patch"]),
            0 if match["pre"] else 1)


def check_target_tag(registry: Registry, version: str, target: str, digest: str, *,
                     force: bool,
                     resolved: Mapping[str, Descriptor | None] | None = None) -> str:
    """Whether ``{version}-{target}`` may be written: ``absent`` or ``present`` (same digest,
    --force). Immutable tags are never re-pointed (TAG-06, TXN-05, TXN-06). ``resolved``:
    what this command's reconciliation read of the tag, if it did."""
    tag = env_tag(version, target)
    found = resolve_tag(registry, tag, resolved)
    if found is None:
        return "absent"
    if found.digest != digest:
        raise TagExistsError(
            f"{tag} already exists and points at {found.digest}, not {digest}",
            hint="immutable tags are never re-pointed; promote a new version instead",
            details={"tag": tag, "existing_digest": found.digest, "digest": digest},
        )
    if not force:
        raise TagExistsError(
            f"{tag} already exists (same digest): already promoted",
            hint="use --force to complete the promotion idempotently",
            details={"tag": tag, "existing_digest": found.digest},
        )
    return "present"

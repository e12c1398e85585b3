"""Rollback impact analysis (FR-016, RB-01..07): a fold of the ledger's
history and the two manifests; every line of it names the versions, environments or
dependents it is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion
from packaging.version import Version as PepVersion

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.config import DependentConfig
from floe_ledger.domain.model.errors import UsageError
from floe_ledger.domain.model.state import Live
from floe_ledger.domain.model.values import EnvironmentPath, Version

SAFE, RISKY, BLOCKED = "SAFE", "RISKY", "BLOCKED"


@dataclass(frozen=True)
class ManifestOutline:
    """What differs between two artifacts, taken from their manifests."""

    digest: str
    media_type: str = ""
    config_digest: str = ""
    config_media_type: str = ""
    layers: tuple[tuple[str, int, str], ...] = ()  # (digest, size, title)
    annotations: dict[str, str] = field(default_factory=dict)


def outline_manifest(digest: str, media_type: str, doc: dict[str, Any]) -> ManifestOutline:
    """Facts from a parsed manifest document."""
    config = doc.get("config") or {}
    layers = tuple(
        (str(lay.get("digest", "")), int(lay.get("size", 0)),
         str((lay.get("annotations") or {}).get("org.opencontainers.image.title", "")))
        for lay in doc.get("layers") or doc.get("manifests") or []
    )
    return ManifestOutline(digest, media_type, str(config.get("digest", "")),
                         str(config.get("mediaType", "")), layers,
                         {str(k): str(v) for k, v in (doc.get("annotations") or {}).items()})


def analyze_rollback(artifact: Artifact, path: EnvironmentPath, version: str, env: str,
                     target: ManifestOutline, current: ManifestOutline | None,
                     dependents: list[DependentConfig]) -> dict[str, Any]:
    """The impact of re-pointing ``env`` to ``version`` (a dict stored in RolledBack).

    Risk: BLOCKED when a dependent's constraint excludes ``version``; RISKY when the major
    version changes or a file present now is absent in ``version``; else SAFE.
    """
    live = artifact.live.get(env)
    current_version = live.version if live else None
    undone = _undone(artifact.timeline.get(env, []), version)
    later = _later_newer(artifact, path, env, version)
    breaking = _breaking(version, current_version, undone)
    diff = _diff(target, current) if current else {}
    products = _dependents(dependents, version)
    risk = _risk(breaking, products, diff)
    return {
        "environment": env, "target_version": version, "target_digest": target.digest,
        "current_version": current_version, "current_digest": live.digest if live else None,
        "undone": undone, "later_environments_newer": later, "breaking_changes": breaking,
        "diff": diff, "affected_products": products, "risk": risk,
        "recommendations": _recommendations(env, version, undone, later, breaking, products,
                                            diff),
    }


def in_effect(timeline: list[Live]) -> list[Live]:
    """What still stands in an environment, oldest first: each promotion stacks on the last;
    a rollback to a version takes off everything above it (those versions are undone) and
    that version goes live again."""
    stack: list[Live] = []
    for lv in timeline:
        if lv.via == "rollback":
            below = max((i for i, s in enumerate(stack) if s.version == lv.version), default=-1)
            del stack[below if below >= 0 else len(stack):]
        elif stack and stack[-1].version == lv.version:
            stack.pop()  # the same version again (another ledger's record of it)
        stack.append(lv)
    return stack


def _undone(timeline: list[Live], version: str) -> list[dict[str, Any]]:
    """The versions a rollback to ``version`` takes off: those above it in what still stands
    (a version an earlier rollback already undid is not undone again); if ``version`` does
    not stand there any more, what runs now."""
    stack = in_effect(timeline)
    below = max((i for i, lv in enumerate(stack) if lv.version == version), default=-1)
    above = stack[below + 1:] if below >= 0 else stack[-1:]
    seen: dict[str, dict[str, Any]] = {}
    for lv in above:
        if lv.version != version:
            seen.setdefault(lv.version, {"version": lv.version, "went_live_at":
                                         lv.at.isoformat(), "by": lv.by, "via": lv.via})
    return list(seen.values())


def _later_newer(artifact: Artifact, path: EnvironmentPath, env: str,
                 version: str) -> list[dict[str, Any]]:
    target = Version.parse(version)
    out = []
    for later in path.later_than(env):
        lv = artifact.live.get(later)
        if lv and _newer(lv.version, target):
            out.append({"environment": later, "version": lv.version})
    return out


def _newer(text: str, than: Version) -> bool:
    try:
        return Version.parse(text) > than
    except UsageError:
        return False


def _breaking(version: str, current: str | None,
              undone: list[dict[str, Any]]) -> list[dict[str, Any]]:
    target = Version.parse(version)
    out = []
    candidates = [u["version"] for u in undone] + ([current] if current else [])
    for text in dict.fromkeys(candidates):
        try:
            other = Version.parse(text)
        except UsageError:
            continue
        if other.major != target.major:
            out.append({"kind": "semver-major", "from": text, "to": version,
                        "detail": f"major version {other.major} -> {target.major}: "
                        f"APIs or schemas introduced in {text} disappear"})
    return out


def _files(outline: ManifestOutline) -> dict[str, dict[str, Any]]:
    """Layers by file name (their title), or by position when untitled (image layers)."""
    return {title or f"layer {i}": {"title": title, "digest": d, "size": s}
            for i, (d, s, title) in enumerate(outline.layers)}


def _diff(target: ManifestOutline, current: ManifestOutline) -> dict[str, Any]:
    """What changes from ``current`` to ``target``: annotations, and files added, removed
    (present now, absent in the target) or changed (the same name, other content)."""
    ta, ca = target.annotations, current.annotations
    t_files, c_files = _files(target), _files(current)
    return {
        "annotations": {
            "added": {k: ta[k] for k in ta.keys() - ca.keys()},
            "removed": {k: ca[k] for k in ca.keys() - ta.keys()},
            "changed": {k: {"from": ca[k], "to": ta[k]} for k in ta.keys() & ca.keys()
                        if ta[k] != ca[k]},
        },
        "layers": {
            "added": [f for k, f in t_files.items() if k not in c_files],
            "removed": [f for k, f in c_files.items() if k not in t_files],
            "changed": [{"title": f["title"], "name": k, "from_digest": c_files[k]["digest"],
                         "to_digest": f["digest"], "from_size": c_files[k]["size"],
                         "to_size": f["size"]}
                        for k, f in t_files.items()
                        if k in c_files and c_files[k]["digest"] != f["digest"]],
        },
        "config_changed": target.config_digest != current.config_digest,
        "media_type_changed": target.media_type != current.media_type,
    }


def _dependents(dependents: list[DependentConfig], version: str) -> list[dict[str, Any]]:
    out = []
    for dep in dependents:
        satisfied: bool | None = None
        if dep.constraint:
            try:
                satisfied = PepVersion(version.lstrip("v")) in SpecifierSet(dep.constraint)
            except (InvalidSpecifier, InvalidVersion):
                satisfied = None
        out.append({"name": dep.name, "repository": dep.repository,
                    "constraint": dep.constraint, "satisfied": satisfied})
    return out


def _risk(breaking: list[Any], products: list[dict[str, Any]], diff: dict[str, Any]) -> str:
    if any(p["satisfied"] is False for p in products):
        return BLOCKED
    if breaking or (diff.get("layers") or {}).get("removed"):
        return RISKY
    return SAFE


def _recommendations(env: str, version: str, undone: list[dict[str, Any]],
                     later: list[dict[str, Any]], breaking: list[dict[str, Any]],
                     products: list[dict[str, Any]], diff: dict[str, Any]) -> list[str]:
    recs = []
    for p in products:
        if p["satisfied"] is False:
            recs.append(f"{p['name']} requires {p['constraint']}, which {version} does not "
                        "satisfy: roll it back first or keep the current version")
        elif p["satisfied"] is None:
            recs.append(f"notify {p['name']}: it depends on this artifact")
    for b in breaking:
        recs.append(f"check schema and API compatibility: {b['detail']}")
    for lat in later:
        recs.append(f"{lat['environment']} runs {lat['version']}, newer than {version}: "
                    f"decide whether to roll {lat['environment']} back too")
    if undone:
        names = ", ".join(u["version"] for u in undone)
        recs.append(f"this undoes {names} in {env}; make sure no data written by them is lost")
    layers = diff.get("layers") or {}
    removed = layers.get("removed") or []
    if removed:
        titles = ", ".join(r["title"] or r["digest"][:19] for r in removed)
        recs.append(f"files present now and absent in {version}: {titles}")
    changed = layers.get("changed") or []
    if changed:
        names = ", ".join(c["name"] for c in changed)
        recs.append(f"files with other content in {version}: {names}")
    return recs

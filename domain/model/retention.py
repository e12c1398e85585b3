"""Which environment tags ``floe gc --keep N`` may delete: a pure fold of the ledger's state
and the registry's tag list.

    plan = plan_retention(state, ("dev", "staging", "prod"), keep=5, live_tags=tags,
                          skip={"prod": "environment locked"})
    plan = keep_manifests_tagged(plan, released={"v1.2.3", ...})

Per environment, versions are ranked by when they last went live there (a rollback makes a
version recent again). The ``keep`` most recent stay, and whatever ``keep`` says, so do the
version running there and the one before it (what ``floe platform rollback`` goes back to
and what its impact analysis compares against). Of every other version the ledger knows
went through the environment, ``{version}-{env}`` and ``{version}-{env}-rollback-N`` go.
Never touched: ``latest-{env}``, release tags, tags of versions this ledger has no record of
in that environment (pushed by hand, an open promotion), every tag of a skipped environment
(locked, or not the operator's to change), and the last tags naming a digest (a version's
tags go only while its release tag, or a kept tag in another environment, still names it,
so its manifest and records stay reachable).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from floe_ledger.domain.model.state import ArtifactState
from floe_ledger.domain.model.values import VERSION_RE, env_tag, rollback_tag

DELETE, KEEP, ABSENT = "delete", "keep", "absent"


@dataclass(frozen=True)
class TagPlan:
    """What gc does with one tag: ``delete``, ``keep``, or ``absent`` (a tag the ledger
    knows that is already gone: recorded, nothing to delete). ``keeper`` is the tag that
    still names ``digest`` once this one is deleted."""

    tag: str
    environment: str
    version: str
    digest: str | None
    action: str
    reason: str
    keeper: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"tag": self.tag, "environment": self.environment, "version": self.version,
                "digest": self.digest, "action": self.action, "reason": self.reason}


def ranking(state: ArtifactState, env: str) -> list[str]:
    """Versions that ran in ``env``, the most recently live first."""
    last: dict[str, int] = {}
    for i, live in enumerate(state.timeline.get(env, [])):
        last[live.version] = i
    return sorted(last, key=lambda v: last[v], reverse=True)


def kept_versions(state: ArtifactState, env: str, keep: int) -> dict[str, str]:
    """Version -> why it stays in ``env``: the ``keep`` most recent, the running one and the
    one before it (the rollback target)."""
    ranked = ranking(state, env)
    kept = {v: f"among the {keep} most recent in {env}" for v in ranked[:keep]}
    running = state.live.get(env)
    if running is not None:
        kept[running.version] = f"runs in {env}"
        before = [v for v in ranked if v != running.version]
        if before:
            kept.setdefault(before[0], f"what a rollback of {env} goes back to")
    return kept


def env_tags_of(tag: str, environments: Sequence[str]) -> tuple[str, str] | None:
    """(version, env) of ``{version}-{env}`` or ``{version}-{env}-rollback-N``, matching
    the configured environments longest first; None for any other tag."""
    for env in sorted(environments, key=len, reverse=True):
        match = re.fullmatch(rf"(?P<v>.+)-{re.escape(env)}(?:-rollback-\d+)?", tag)
        if match and VERSION_RE.match(match["v"]):
            return match["v"], env
    return None


def plan_retention(state: ArtifactState, environments: Sequence[str], keep: int,
                   live_tags: Collection[str], skip: Mapping[str, str] | None = None
                   ) -> list[TagPlan]:
    """Every environment tag of ``environments`` in ``live_tags`` with what gc does with it,
    plus (``absent``) the ledger's tags of collected versions that are already gone."""
    skip = skip or {}
    ranked = {env: ranking(state, env) for env in environments}
    kept = {env: kept_versions(state, env, keep) for env in environments}
    plan: list[TagPlan] = []
    present = set(live_tags)
    for tag in sorted(present):
        parsed = env_tags_of(tag, environments)
        if parsed is None:
            continue
        version, env = parsed
        digest = state.versions.get(version)
        if env in skip:
            plan.append(TagPlan(tag, env, version, digest, KEEP, skip[env]))
        elif version not in ranked[env] or digest is None:
            plan.append(TagPlan(tag, env, version, digest, KEEP,
                                f"this ledger has no record of {version} running in {env}"))
        elif version in kept[env]:
            plan.append(TagPlan(tag, env, version, digest, KEEP, kept[env][version]))
        else:
            plan.append(TagPlan(tag, env, version, digest, DELETE,
                                f"older than the {keep} most recent in {env}"))
    for env in environments:
        if env in skip:
            continue
        for version in ranked[env]:
            if version in kept[env]:
                continue
            for tag in _ledger_tags(state, version, env):
                if tag not in present and tag not in state.collected:
                    plan.append(TagPlan(tag, env, version, state.versions.get(version), ABSENT,
                                        "already gone from the registry"))
    return plan


def keep_manifests_tagged(plan: list[TagPlan], released: Collection[str]) -> list[TagPlan]:
    """Keep the tags of a version whose digest nothing else would still name: deleting is
    allowed while its release tag (``released``) or a kept tag of it stays."""
    kept_tag = {p.version: p.tag for p in plan if p.action == KEEP and p.digest}
    out = []
    for p in plan:
        if p.action != DELETE:
            out.append(p)
        elif p.version in released:
            out.append(replace(p, keeper=p.version))
        elif p.version in kept_tag:
            out.append(replace(p, keeper=kept_tag[p.version]))
        else:
            out.append(replace(p, action=KEEP, reason=f"the last tags naming {p.digest}: its "
                               f"release tag {p.version} is gone"))
    return out


def _ledger_tags(state: ArtifactState, version: str, env: str) -> list[str]:
    """The environment tags the ledger knows of ``version`` in ``env``."""
    count = state.rollbacks.get((version, env), 0)
    return [env_tag(version, env), *(rollback_tag(version, env, n) for n in range(1, count + 1))]

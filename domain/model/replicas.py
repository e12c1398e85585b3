"""Which tags every replica must hold, according to the ledger (``floe platform sync``)."""

from __future__ import annotations

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.values import latest_tag, rollback_tag


def expected_tags(artifact: Artifact, primary_uri: str) -> dict[str, str]:
    """Tag -> digest for the tags the ledger says the primary holds now.

    The tags of completed promotions written to ``primary_uri``, the rollback tags,
    and each environment's ``latest-<env>`` at what runs there now (after rollbacks),
    less the tags ``floe gc`` deleted.
    """
    expected: dict[str, str] = {}
    for promo in artifact.promotions.values():
        if promo.state != "completed":
            continue
        for (registry, tag), digest in promo.tags.items():
            if registry == primary_uri:
                expected[tag] = digest
    for (version, env), count in artifact.rollbacks.items():
        known = artifact.versions.get(version)
        for n in range(1, count + 1):
            if known:
                expected[rollback_tag(version, env, n)] = known
    for tag in artifact.collected:
        expected.pop(tag, None)
    for env, live in artifact.live.items():
        expected[latest_tag(env)] = str(live.digest)
    return expected

"""What every gate gets to know about the promotion it guards."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from floe_ledger.domain.model.policy import DEFAULT_POLICIES, Facts, PolicyRule

GRACE_SECONDS = 5.0
"""Time between SIGTERM and SIGKILL for a timed-out gate (NFR-003)."""


@dataclass(frozen=True)
class GateContext:
    """The artifact and the transition being checked, plus how to run gates.

    Args:
        artifact_ref: full reference the gates work on, ideally by digest
            (``registry/repo@sha256:...``), substituted for ``${ARTIFACT_REF}``.
        artifact_digest: ``sha256:...`` (``${ARTIFACT_DIGEST}``).
        artifact_tag: the source tag, e.g. ``v1.2.3-dev`` (``${ARTIFACT_TAG}``).
        source_env / target_env: the transition (``${SOURCE_ENV}``, ``${TARGET_ENV}``).
        facts: what the policy gate evaluates; None makes the policy gate fail closed.
        facts_error: why facts are missing (shown in that failure).
        policies: the rules to evaluate (usually ``effective_policies(configured)``).
        base_env: the environment gate commands inherit (secrets removed); None = os.environ.
        workdir: working directory for gate commands and base for relative report
            paths (normally the manifest's directory); None = the current directory.
        grace_seconds: SIGTERM → SIGKILL grace for timed-out gates.
    """

    artifact_ref: str
    artifact_digest: str
    artifact_tag: str
    source_env: str
    target_env: str
    facts: Facts | None = None
    facts_error: str | None = None
    policies: tuple[PolicyRule, ...] = DEFAULT_POLICIES
    base_env: Mapping[str, str] | None = None
    workdir: str | None = None
    grace_seconds: float = GRACE_SECONDS

    def placeholders(self) -> dict[str, str]:
        """Values for ``${NAME}`` in gate commands (CFG-23)."""
        return {
            "ARTIFACT_REF": self.artifact_ref,
            "ARTIFACT_DIGEST": self.artifact_digest,
            "ARTIFACT_TAG": self.artifact_tag,
            "SOURCE_ENV": self.source_env,
            "TARGET_ENV": self.target_env,
        }

    def parent_env(self) -> Mapping[str, str]:
        """The environment gate commands start from, before secrets are removed."""
        return os.environ if self.base_env is None else self.base_env

    def resolve(self, path: str) -> Path:
        """``path`` relative to ``workdir`` (absolute paths are kept)."""
        return Path(self.workdir or ".") / path

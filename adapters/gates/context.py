"""What every gate gets to know about the promotion it guards."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from floe_ledger.adapters.observability.redact import secret_values
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
        secret_names: variables whose values are scrubbed from every gate result even
            though their names do not look secret (e.g. webhook ``secret_env``).
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
    secret_names: tuple[str, ...] = ()

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

    def secrets(self) -> set[str]:
        """Values no gate result may carry: every secret-looking variable and ``secret_names``.

        Taken from the whole parent environment, not only what a gate received, so a
        gate that finds a secret some other way still cannot get it into the ledger.
        """
        env = self.parent_env()
        found = secret_values(env)
        found.update(env[n] for n in self.secret_names if len(env.get(n, "")) >= 4)
        return found

    def resolve(self, path: str) -> Path:
        """``path`` relative to ``workdir`` (absolute paths are kept)."""
        return Path(self.workdir or ".") / path

"""The checks the Artifact aggregate's commands make before they emit: each raises the
refusal (a FloeError subclass, never an assert) or returns what it found. The commands are
on :class:`floe_ledger.domain.model.artifact.Artifact`; the state these read, in ``state.py``.
"""

from __future__ import annotations

from floe_ledger.domain.model.errors import (
    EnvironmentLockedError,
    IntegrityError,
    NeverPromotedError,
    TagExistsError,
)
from floe_ledger.domain.model.state import ArtifactState
from floe_ledger.domain.model.values import env_tag


class ArtifactChecks(ArtifactState):
    """The Artifact's state with the checks its commands (and services) make on it."""

    def check_observed(self, version: str, digest: str, tag: str,
                       seen: str = "in the registry") -> str | None:
        """The digest the ledger knows ``version`` as (None: not known yet); IntegrityError
        if that is not ``digest``, which ``tag`` names (``seen``: where it was read)."""
        known = self.versions.get(version)
        if known is not None and known != digest:
            raise IntegrityError(
                f"{tag} is {digest} {seen} but the ledger recorded {version} as {known}",
                hint="the tag was moved outside floe; run 'floe audit verify --registry'",
                details={"tag": tag, "registry_digest": digest, "ledger_digest": known},
            )
        return known

    def check_not_locked(self, env: str) -> None:
        lock = self.locks.get(env)
        if lock:
            raise EnvironmentLockedError(
                f"environment {env} is locked: {lock.reason}",
                hint=f"locked by {lock.by} at {lock.at.isoformat()}; "
                f"'floe platform unlock --env {env} --reason TEXT' releases it",
                details={"environment": env, "reason": lock.reason, "locked_by": lock.by,
                         "locked_at": lock.at.isoformat()},
            )

    def check_rollback(self, version: str, env: str, *, registry_digest: str | None = None) -> str:
        """The digest ``version`` ran as in ``env``: from the promotion that put it there,
        else from the registry's ``{version}-{env}`` tag (``registry_digest``, trusted the way
        promote trusts a source tag); NeverPromotedError (exit 11) if neither knows it, and
        IntegrityError (exit 14) if the ledger knows the version as another digest (checked
        before any tag is written, not when the rollback is recorded)."""
        done = self.completed(version, env)
        found = done.digest if done is not None else registry_digest
        if found is not None:
            self.check_observed(version, found, env_tag(version, env),
                                "in the registry" if done is None else
                                f"by the record of its promotion into {env}")
            return found
        versions = self.versions_in(env)
        listed = ", ".join(f"{v}-{env}" for v in versions) or "none"
        raise NeverPromotedError(
            f"{version} was never promoted to {env}",
            hint=f"versions promoted to {env}: {listed}",
            details={"environment": env, "available_versions": versions},
        )

    def check_env_tag_free(self, version: str, target: str, *, force: bool) -> None:
        """An immutable env tag already written in the ledger is exit 10 unless --force."""
        done = self.completed(version, target)
        if done and not force:
            raise TagExistsError(
                f"{env_tag(version, target)} already exists: {version} was promoted to "
                f"{target} by {done.operator} at {done.requested_at.isoformat()}",
                hint="already promoted; use --force to re-check and complete it idempotently",
                details={"tag": env_tag(version, target), "existing_digest": done.digest},
            )

"""Read-only questions the Artifact aggregate answers while deciding, and the checks
that refuse a command (raised, never asserted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_ledger.domain.artifact_state import Lock, Promotion
from floe_ledger.domain.errors import EnvironmentLockedError, NeverPromotedError, TagExistsError
from floe_ledger.domain.values import env_tag


class ArtifactChecks:
    """Mixed into :class:`floe_ledger.domain.artifact.Artifact`."""

    if TYPE_CHECKING:
        promotions: dict[str, Promotion]
        by_target: dict[tuple[str, str], str]
        locks: dict[str, Lock]

    def completed(self, version: str, env: str) -> Promotion | None:
        pid = self.by_target.get((version, env))
        promo = self.promotions.get(pid) if pid else None
        return promo if promo and promo.state == "completed" else None

    def open_promotion(self, version: str, env: str) -> Promotion | None:
        pid = self.by_target.get((version, env))
        promo = self.promotions.get(pid) if pid else None
        return promo if promo and promo.state == "open" else None

    def versions_in(self, env: str) -> list[str]:
        """Versions promoted into ``env`` (completed), oldest first."""
        found = [
            p for p in self.promotions.values() if p.target == env and p.state == "completed"
        ]
        found.sort(key=lambda p: p.completed_at or p.requested_at)
        return list(dict.fromkeys(p.version for p in found))

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

    def check_rollback(self, version: str, env: str) -> Promotion:
        """The promotion that put ``version`` into ``env``; NeverPromotedError if none."""
        done = self.completed(version, env)
        if done is None:
            versions = self.versions_in(env)
            listed = ", ".join(f"{v}-{env}" for v in versions) or "none"
            raise NeverPromotedError(
                f"{version} was never promoted to {env}",
                hint=f"versions promoted to {env}: {listed}",
                details={"environment": env, "available_versions": versions},
            )
        return done

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

    def gate_durations(self) -> dict[str, list[int]]:
        """Past durations (ms) of each gate that ran, from every promotion's results."""
        out: dict[str, list[int]] = {}
        for promo in self.promotions.values():
            for result in promo.gate_results:
                if result.get("status") in ("passed", "warning", "failed") and isinstance(
                        result.get("duration_ms"), int):
                    out.setdefault(str(result.get("gate")), []).append(result["duration_ms"])
        return out

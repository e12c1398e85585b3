"""A scripted history with known timestamps, played through the real ``floe`` against the
real registry, and the DORA metrics it must give (``floe metrics`` and the dashboard).

    history = play_dora_history(workspace)            # start=T0, 2026-11-02 09:00Z
    code, out = workspace.json("metrics", "--as-of", history.as_of.isoformat(),
                               "--since", "7d")
    assert metrics_by_env(out) == history.expected(window_days=7)

Every event of a step is stamped with the step's time (tests/support/pinned_clock, through
``FLOE_TEST_EVENT_TIME``). Environments dev -> staging -> prod; staging has a ``tests``
gate that fails once. The steps, as offsets from ``start``:

    +0d 09:00  v1.0.0 -> dev            +3d 09:00  v1.1.0 staging -> prod
    +0d 15:00  v1.0.0 dev -> staging    +3d 10:30  prod rolled back to v1.0.0
    +1d 09:00  v1.0.0 staging -> prod   +3d 11:00  prod locked ("incident 7")
    +2d 09:00  v1.1.0 -> dev            +4d 09:00  v1.2.0 -> dev
    +2d 12:00  v1.1.0 dev -> staging:   +4d 10:00  v1.2.0 dev -> staging
               the gate fails (exit 8)  +5d 09:00  prod unlocked
    +2d 13:00  v1.1.0 dev -> staging    +5d 10:00  v1.2.0 staging -> prod

(start is 09:00; "+3d 10:30" is start + 3 days 1 h 30 min.) ``as_of`` is start + 5 days
6 h (after every step), ``before_rollback`` start + 3 days 1 h (between the prod deployment
of v1.1.0 and its rollback).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.workspace import Workspace

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CLOCK_DIR = Path(__file__).resolve().parent / "pinned_clock"
H = 3600.0


def pinned(at: datetime) -> dict[str, str]:
    """The environment of a ``floe`` run whose events are all stamped ``at``."""
    return {"PYTHONPATH": str(CLOCK_DIR), "FLOE_TEST_EVENT_TIME": at.isoformat()}


@dataclass(frozen=True)
class Step:
    """One ``floe`` run: when (after ``start``), its arguments, its exit code, and whether
    the staging ``tests`` gate fails during it."""

    offset: timedelta
    args: tuple[str, ...]
    code: int = 0
    gate_fails: bool = False


def _promote(version: str, source: str | None, target: str) -> tuple[str, ...]:
    return ("platform", "promote", version, *(("--from", source) if source else ()),
            "--to", target)


D, HOUR = timedelta(days=1), timedelta(hours=1)
STEPS: tuple[Step, ...] = (
    Step(0 * HOUR, _promote("v1.0.0", None, "dev")),
    Step(6 * HOUR, _promote("v1.0.0", "dev", "staging")),
    Step(D, _promote("v1.0.0", "staging", "prod")),
    Step(2 * D, _promote("v1.1.0", None, "dev")),
    Step(2 * D + 3 * HOUR, _promote("v1.1.0", "dev", "staging"), code=8, gate_fails=True),
    Step(2 * D + 4 * HOUR, _promote("v1.1.0", "dev", "staging")),
    Step(3 * D, _promote("v1.1.0", "staging", "prod")),
    Step(3 * D + 1.5 * HOUR, ("platform", "rollback", "v1.0.0", "--env", "prod", "--reason",
                              "error rate")),
    Step(3 * D + 2 * HOUR, ("platform", "lock", "--env", "prod", "--reason", "incident 7")),
    Step(4 * D, _promote("v1.2.0", None, "dev")),
    Step(4 * D + HOUR, _promote("v1.2.0", "dev", "staging")),
    Step(5 * D, ("platform", "unlock", "--env", "prod", "--reason", "incident 7 closed")),
    Step(5 * D + HOUR, _promote("v1.2.0", "staging", "prod")),
)


@dataclass(frozen=True)
class DoraHistory:
    """The moments of a played history and the metrics it gives."""

    start: datetime

    @property
    def as_of(self) -> datetime:
        return self.start + timedelta(days=5, hours=6)

    @property
    def before_rollback(self) -> datetime:
        return self.start + timedelta(days=3, hours=1)

    @property
    def rolled_back_at(self) -> datetime:
        return self.start + timedelta(days=3, hours=1.5)

    def expected(self, window_days: float, *, before_rollback: bool = False) -> \
            dict[str, dict[str, Any]]:
        """Each environment's metrics, as ``metrics_by_env`` shapes them, over a window of
        ``window_days`` ending at ``as_of`` (or ``before_rollback``) that holds every step
        before it."""
        if before_rollback:
            return {
                "dev": _env(2, window_days, [0, 0], [], 0),
                "staging": _env(2, window_days, [4 * H, 6 * H], [], 0),
                "prod": _env(2, window_days, [24 * H, 24 * H], [], 0),
            }
        return {
            "dev": _env(3, window_days, [0, 0, 0], [], 0),
            "staging": _env(3, window_days, [H, 4 * H, 6 * H], [], 0),
            "prod": _env(3, window_days, [24 * H, 24 * H, 25 * H], [1.5 * H], 1),
        }


def _env(count: int, days: float, leads: list[float], restores: list[float],
         failed: int) -> dict[str, Any]:
    return {"deployments": count, "per_day": count / days, "lead_time": _stat(leads),
            "failed": failed, "rate": failed / count, "time_to_restore": _stat(restores)}


def _stat(samples: list[float]) -> dict[str, float | int | None]:
    """Hand-worked statistics of at most three sorted samples (p90 is the largest)."""
    n = len(samples)
    if n == 0:
        return {"samples": 0, "median_seconds": None, "p90_seconds": None,
                "mean_seconds": None}
    median = samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2
    return {"samples": n, "median_seconds": median, "p90_seconds": samples[-1],
            "mean_seconds": sum(samples) / n}


def metrics_by_env(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``floe metrics -o json`` (or ``DoraReport.to_json()``) reduced to what ``expected``
    gives: the four metrics per environment."""
    out: dict[str, dict[str, Any]] = {}
    for env in payload["environments"]:
        out[env["environment"]] = {
            "deployments": env["deployment_frequency"]["deployments"],
            "per_day": env["deployment_frequency"]["per_day"],
            "lead_time": env["lead_time"],
            "failed": env["change_failure_rate"]["failed"],
            "rate": env["change_failure_rate"]["rate"],
            "time_to_restore": env["time_to_restore"],
        }
    return out


def play_dora_history(ws: Workspace, start: datetime = T0) -> DoraHistory:
    """Push three releases and play every step through ``floe`` with pinned event times;
    each step must exit as scripted."""
    gate_flag = ws.root / "gate-fails"
    ws.write_manifest(promotion={
        "environments": [{"name": "dev"}, {"name": "staging", "gates": {"tests": True}},
                         {"name": "prod"}],
        "gate_commands": {"tests": {"command": [
            "python3", "-c", "import pathlib, sys; sys.exit(pathlib.Path(sys.argv[1]).exists())",
            str(gate_flag)]}},
    })
    for version in ("v1.0.0", "v1.1.0", "v1.2.0"):
        ws.push(version)
    for step in STEPS:
        if step.gate_fails:
            gate_flag.write_text("the tests gate fails while this file exists\n")
        proc = ws.run(*step.args, env=pinned(start + step.offset))
        gate_flag.unlink(missing_ok=True)
        assert proc.returncode == step.code, (step, proc.stdout, proc.stderr)
    return DoraHistory(start)

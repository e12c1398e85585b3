"""The DORA projection (projections/dora.py, DORA-01..06) over hand-built events with known
timestamps: exact values for all four metrics, and the edge cases docs/metrics.md defines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from floe_ledger.domain.model import events as ev
from floe_ledger.projections.dora import DoraReport, Stat, dora_metrics

T0 = datetime(2026, 11, 2, tzinfo=UTC)
D, H = timedelta(days=1), timedelta(hours=1)
A, B = UUID(int=1), UUID(int=2)
ENVS = ("dev", "staging", "prod")


@dataclass
class Story:
    """Events of one or two repositories, in ledger order."""

    events: list[ev.ArtifactEvent] = field(default_factory=list)

    def _base(self, at: datetime, repo: UUID) -> dict[str, object]:
        n = sum(1 for e in self.events if e.originator_id == repo) + 2
        return {"originator_id": repo, "originator_version": n, "timestamp": at,
                "operator": "alice"}

    def promote(self, version: str, env: str, at: datetime, repo: UUID = A) -> Story:
        self.events.append(ev.PromotionCompleted(
            **self._base(at, repo), promotion_id=f"p{len(self.events)}", version=version,
            digest=f"sha256:{version}", source_environment=None, target_environment=env,
            tags=[f"{version}-{env}"]))
        return self

    def rollback(self, version: str, env: str, at: datetime, repo: UUID = A) -> Story:
        self.events.append(ev.RolledBack(
            **self._base(at, repo), rollback_id=f"r{len(self.events)}", version=version,
            digest=f"sha256:{version}", environment=env, previous_version=None,
            previous_digest=None, rollback_tag=f"{env}-rollback-1", sequence=1,
            reason="bad"))
        return self

    def opened(self, version: str, env: str, at: datetime) -> Story:
        self.events.append(ev.PromotionRequested(
            **self._base(at, A), promotion_id=f"p{len(self.events)}", version=version,
            digest=f"sha256:{version}", source_environment=None, target_environment=env))
        return self

    def refused(self, version: str, env: str, at: datetime) -> Story:
        self.events.append(ev.PromotionRejected(
            **self._base(at, A), promotion_id=f"p{len(self.events)}", version=version,
            source_environment=None, target_environment=env, code="gate_failed", exit_code=8,
            reason="tests failed"))
        return self

    def observed(self, kind: str, version: str, env: str, recorded: datetime,
                 folded: datetime) -> Story:
        self.events.append(ev.RecordObserved(
            **self._base(folded, A), record_digest="sha256:00", source_ledger="0df884b2c6f3cd81",
            record_kind=kind, record_id=f"o{len(self.events)}",
            subject_digest=f"sha256:{version}", environment=env, version=version,
            recorded_operator="carol", recorded_at=recorded))
        return self

    def metrics(self, since: datetime = T0, until: datetime = T0 + 7 * D,
                window: timedelta = 24 * H, envs: tuple[str, ...] = ENVS) -> DoraReport:
        return dora_metrics(self.events, environments=envs, since=since, until=until,
                            failure_window=window)


def known_history() -> Story:
    """v1..v4 through dev -> staging -> prod; prod rolled back away from v2; staging rolled
    back to v2 two hours after v4 (away from v4) and four after v3 (within 24 h)."""
    s = Story()
    s.promote("v1", "dev", T0).promote("v1", "staging", T0 + 2 * H).promote("v1", "prod", T0 + D)
    s.promote("v2", "dev", T0 + 2 * D).refused("v2", "staging", T0 + 2 * D + 3 * H)
    s.promote("v2", "staging", T0 + 2 * D + 6 * H).promote("v2", "prod", T0 + 3 * D)
    s.rollback("v1", "prod", T0 + 3 * D + 2 * H)
    s.promote("v3", "dev", T0 + 4 * D).promote("v3", "staging", T0 + 4 * D + H)
    s.promote("v4", "dev", T0 + 4 * D + 2 * H).promote("v4", "staging", T0 + 4 * D + 3 * H)
    s.rollback("v2", "staging", T0 + 4 * D + 5 * H)
    s.promote("v3", "prod", T0 + 5 * D)
    return s


def secs(d: timedelta) -> float:
    return d.total_seconds()


@pytest.mark.requirement("DORA-01", "DORA-02", "DORA-03", "DORA-04", "DORA-05")
def test_all_four_metrics_of_a_known_history_are_exact() -> None:
    report = known_history().metrics()
    dev, staging, prod = (report.environment(n) for n in ENVS)

    assert (dev.deployments, dev.deployments_per_day) == (4, 4 / 7)
    assert dev.lead_time == Stat(4, 0.0, 0.0, 0.0)  # its first environment: 0 s by definition
    assert (dev.failed_deployments, dev.change_failure_rate) == (0, 0.0)
    assert dev.time_to_restore == Stat(0, None, None, None)

    # leads 2 h, 6 h, 1 h, 1 h: median of 1, 1, 2, 6 is 1.5 h; p90 nearest rank is the 4th
    assert (staging.deployments, staging.deployments_per_day) == (4, 4 / 7)
    assert staging.lead_time == Stat(4, secs(1.5 * H), secs(6 * H), secs(2.5 * H))
    # v4 was rolled back away from; v3 was followed within 24 h by a rollback to v2
    assert [(o.version, o.failed) for o in staging.outcomes] == [
        ("v1", False), ("v2", False), ("v3", True), ("v4", True)]
    assert (staging.failed_deployments, staging.change_failure_rate) == (2, 0.5)
    assert staging.time_to_restore == Stat(2, secs(3 * H), secs(4 * H), secs(3 * H))

    assert (prod.deployments, prod.deployments_per_day) == (3, 3 / 7)
    assert prod.lead_time == Stat(3, secs(D), secs(D), secs(D))
    assert (prod.failed_deployments, prod.change_failure_rate) == (1, 1 / 3)
    assert prod.time_to_restore == Stat(1, secs(2 * H), secs(2 * H), secs(2 * H))
    assert [o.restored_at for o in prod.outcomes] == [None, T0 + 3 * D + 2 * H, None]


@pytest.mark.requirement("DORA-06")
def test_as_of_a_moment_before_the_rollback_gives_the_earlier_metrics() -> None:
    story = known_history()
    before = story.metrics(until=T0 + 3 * D + H).environment("prod")
    assert (before.deployments, before.failed_deployments, before.change_failure_rate) == \
        (2, 0, 0.0)
    assert before.time_to_restore == Stat(0, None, None, None)
    after = story.metrics(until=T0 + 3 * D + 2 * H).environment("prod")  # at the rollback
    assert (after.deployments, after.failed_deployments, after.change_failure_rate) == \
        (2, 1, 0.5)


@pytest.mark.requirement("DORA-01", "DORA-03", "DORA-05")
def test_an_empty_window_gives_null_not_zero_over_zero() -> None:
    report = known_history().metrics(since=T0 + 6 * D, until=T0 + 7 * D)
    prod = report.environment("prod")
    assert (prod.deployments, prod.deployments_per_day) == (0, 0.0)
    assert prod.change_failure_rate is None
    assert prod.lead_time == Stat(0, None, None, None) == prod.time_to_restore
    payload = json.loads(json.dumps(report.to_json()))
    entry = payload["environments"][2]
    assert entry["change_failure_rate"] == {"failed": 0, "deployments": 0, "rate": None}
    assert entry["lead_time"]["median_seconds"] is None
    instant = known_history().metrics(since=T0 + D, until=T0 + D).environment("prod")
    assert (instant.deployments, instant.deployments_per_day) == (1, None)  # a zero-length window


@pytest.mark.requirement("DORA-01", "DORA-02")
def test_open_and_refused_promotions_are_not_deployments() -> None:
    s = Story().promote("v1", "dev", T0).opened("v1", "staging", T0 + H)
    s.refused("v1", "prod", T0 + 2 * H)
    report = s.metrics()
    assert [report.environment(e).deployments for e in ENVS] == [1, 0, 0]


@pytest.mark.requirement("DORA-02", "DORA-03")
def test_a_version_promoted_twice_counts_twice_but_has_one_lead_time() -> None:
    s = Story().promote("v1", "dev", T0).promote("v1", "prod", T0 + H)
    s.promote("v2", "dev", T0 + 2 * H).promote("v2", "prod", T0 + 4 * H)
    s.rollback("v1", "prod", T0 + 5 * H).promote("v2", "prod", T0 + 9 * H)
    prod = s.metrics().environment("prod")
    assert prod.deployments == 3
    assert [(o.version, o.lead_time_seconds, o.failed) for o in prod.outcomes] == [
        ("v1", secs(H), False), ("v2", secs(2 * H), True), ("v2", None, False)]
    assert prod.lead_time == Stat(2, secs(1.5 * H), secs(2 * H), secs(1.5 * H))
    assert prod.time_to_restore == Stat(1, secs(H), secs(H), secs(H))  # to the rollback
    # a lead time is from the first arrival anywhere, even before the window
    late = s.metrics(since=T0 + 3 * H).environment("prod")
    assert late.lead_time == Stat(1, secs(2 * H), secs(2 * H), secs(2 * H))


@pytest.mark.requirement("DORA-03", "DORA-04")
def test_a_rollback_to_a_version_does_not_fail_that_versions_deployment() -> None:
    s = Story().promote("v1", "prod", T0).promote("v2", "prod", T0 + H)
    s.promote("v3", "prod", T0 + 2 * H).rollback("v2", "prod", T0 + 3 * H)
    assert [(o.version, o.failed) for o in s.metrics().environment("prod").outcomes] == [
        ("v1", True), ("v2", False), ("v3", True)]
    narrow = s.metrics(window=H).environment("prod")  # v1 is 3 h before the rollback
    assert [(o.version, o.failed) for o in narrow.outcomes] == [
        ("v1", False), ("v2", False), ("v3", True)]
    assert narrow.change_failure_rate == 1 / 3
    # v1's failure was restored by the next deployment that did not fail: v2, an hour on
    wide = s.metrics().environment("prod")
    assert [o.restored_at for o in wide.outcomes] == [T0 + H, None, T0 + 3 * H]
    assert wide.time_to_restore == Stat(2, secs(H), secs(H), secs(H))


@pytest.mark.requirement("DORA-03")
def test_a_rollback_away_from_a_version_fails_it_however_long_it_ran() -> None:
    s = Story().promote("v1", "prod", T0).promote("v2", "prod", T0 + H)
    s.rollback("v1", "prod", T0 + 5 * D)
    prod = s.metrics(window=H).environment("prod")
    assert [(o.version, o.failed) for o in prod.outcomes] == [("v1", False), ("v2", True)]
    assert prod.time_to_restore.median == secs(5 * D - H)


@pytest.mark.requirement("DORA-03")
def test_a_rollback_fails_only_its_own_repositorys_deployments() -> None:
    s = Story().promote("v1", "prod", T0, repo=A).promote("v1", "prod", T0 + H, repo=B)
    s.promote("v2", "prod", T0 + 2 * H, repo=B).rollback("v1", "prod", T0 + 3 * H, repo=B)
    prod = s.metrics().environment("prod")
    assert [(o.artifact, o.version, o.failed) for o in prod.outcomes] == [
        (str(A), "v1", False), (str(B), "v1", False), (str(B), "v2", True)]


@pytest.mark.requirement("DORA-01", "DORA-03")
def test_another_ledgers_records_count_at_the_time_they_record() -> None:
    s = Story().promote("v1", "prod", T0)
    s.observed("promotion", "v2", "prod", recorded=T0 + H, folded=T0 + 2 * D)
    s.observed("rollback", "v1", "prod", recorded=T0 + 3 * H, folded=T0 + 2 * D)
    prod = s.metrics().environment("prod")
    assert [(o.version, o.at, o.failed) for o in prod.outcomes] == [
        ("v1", T0, False), ("v2", T0 + H, True)]
    assert prod.time_to_restore.median == secs(2 * H)
    # before this ledger folded them in, it did not know them
    assert s.metrics(until=T0 + D).environment("prod").deployments == 1


@pytest.mark.requirement("DORA-01")
def test_without_environments_every_one_deployed_to_in_order_of_first_deployment() -> None:
    report = known_history().metrics(envs=())
    assert [e.environment for e in report.environments] == ["dev", "staging", "prod"]
    assert report.to_json()["failure_window_seconds"] == 86400


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        dora_metrics([], environments=ENVS, since=datetime(2026, 11, 1),
                     until=T0, failure_window=H)

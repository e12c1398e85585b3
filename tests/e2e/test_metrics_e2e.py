"""``floe metrics`` end to end (DORA-01..07): a scripted history with known timestamps,
played through the real floe against the real registry, on SQLite and PostgreSQL, gives
exact metrics, and ``--as-of`` a moment before the rollback gives the earlier ones."""

from __future__ import annotations

import pytest

from support.dora_history import metrics_by_env, play_dora_history
from support.workspace import Workspace


@pytest.mark.requirement("DORA-01", "DORA-02", "DORA-03", "DORA-04", "DORA-05", "DORA-06")
def test_metrics_over_a_scripted_history_are_exact_and_replay_as_of(
        workspace: Workspace) -> None:
    history = play_dora_history(workspace)

    code, out = workspace.json("metrics", "--since", "7d", "--as-of", history.as_of.isoformat())
    assert code == 0, out
    assert out["until"] == history.as_of.isoformat()
    assert out["failure_window_seconds"] == 86400
    assert metrics_by_env(out) == history.expected(7)
    prod = next(e for e in out["environments"] if e["environment"] == "prod")
    assert [(d["version"], d["failed"], d["restored_at"]) for d in prod["deployments"]] == [
        ("v1.0.0", False, None), ("v1.1.0", True, history.rolled_back_at.isoformat()),
        ("v1.2.0", False, None)]

    code, before = workspace.json("metrics", "--since", "7d", "--as-of",
                                  history.before_rollback.isoformat())
    assert code == 0, before
    assert metrics_by_env(before) == history.expected(7, before_rollback=True)

    code, only = workspace.json("metrics", "--env", "prod", "--since", "2d", "--as-of",
                                history.as_of.isoformat())
    assert code == 0, only
    # the last two days hold only v1.2.0's deployment into prod (no failure, no restore)
    assert [e["environment"] for e in only["environments"]] == ["prod"]
    assert only["environments"][0]["deployment_frequency"] == {"deployments": 1,
                                                               "per_day": 0.5}
    assert only["environments"][0]["change_failure_rate"]["rate"] == 0.0

    # an auditor's JSON Lines export gives the same numbers as the ledger it came from
    export = workspace.root / "ledger.jsonl"
    code, _ = workspace.json("audit", "export", "--format", "jsonl", "-O", str(export))
    assert code == 0
    code, exported = workspace.json("metrics", "--since", "7d", "--as-of",
                                    history.as_of.isoformat(), "--export", str(export))
    assert code == 0, exported
    assert metrics_by_env(exported) == metrics_by_env(out)

    table = workspace.run("metrics", "--since", "7d", "--as-of", history.as_of.isoformat())
    assert table.returncode == 0, table.stderr
    assert "prod" in table.stdout and "33% (1/3)" in table.stdout


@pytest.mark.requirement("DORA-07")
def test_metrics_usage_errors_exit_2(workspace: Workspace) -> None:
    for args in (["--since", "yesterday-ish"], ["--failure-window", "1 day"],
                 ["--since", "2030-01-01", "--as-of", "2029-01-01"], ["--env", "Prod!"]):
        code, out = workspace.json("metrics", *args)
        assert code == 2, (args, out)
        assert out["success"] is False

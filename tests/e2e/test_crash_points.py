"""Crash points (issue 13, NFR-004, TXN-03..05): floe SIGKILLed right after each durable step
of promote, rollback, lock and unlock, on SQLite and PostgreSQL, and the same command run
again.

For each command, one run with ``FLOE_TEST_CRASH_LOG`` lists its durable steps and is the
reference. Then for each step k, from the same kind of starting state:

1. run with ``FLOE_TEST_CRASH_AFTER=k``: it dies by SIGKILL (exit -9) having done exactly
   the reference's first k steps: the ledger holds their events and nothing more, the
   registry holds their tags and nothing more;
2. ``floe platform status -o json`` shows what the ledger says is unfinished (an open
   promotion or rollback) or the finished state;
3. the same command again exits 0 and leaves what the reference run left: the same event
   kinds (no duplicates), the same tags, as many referrers;
4. ``floe audit verify --registry`` exits 0.

"Resumes cleanly" for lock and unlock: the re-run exits 0 whether or not the crashed run
had already saved the lock, and the final ledger and registry equal the reference's (the
lock record published once, ``floe-<env>-index`` naming it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.crash_cells import (
    SIGKILLED,
    Cell,
    Effect,
    Publisher,
    effect,
    expected_after,
    run_logged,
    snapshot,
    status_row,
    tag_names,
)
from support.workspace import Workspace

ENV = "staging"


@dataclass
class Run:
    """One command to crash: its arguments, the digest it works on, and what status must
    show after a crash, given the event kinds the crashed run saved."""

    command: str
    args: list[str]
    digest: str
    shows: Callable[[Workspace, list[str], list[str]], str]


def backend(ws: Workspace) -> str:
    return "postgresql" if ws.postgres else "sqlite"


@pytest.fixture
def publisher(workspace: Workspace) -> Iterator[Publisher]:
    pub = Publisher(workspace)
    yield pub
    pub.close()


def crash_every_step(ws: Workspace, runs: Iterator[Run]) -> None:
    """For each command ``runs`` yields: its first run is the reference; each later run is a
    cell, killed after the next step, until every step of every command had its cell (a run
    past its command's last step goes uncrashed: lock and unlock alternate)."""
    log = ws.root / "crash-steps.log"
    references: dict[str, Effect] = {}
    crashed: dict[str, int] = {}
    while not references or any(crashed[c] < len(r.steps) for c, r in references.items()):
        run = next(runs)
        if run.command in references and crashed[run.command] < len(
                references[run.command].steps):
            crashed[run.command] += 1
            crash_cell(ws, run, references[run.command], crashed[run.command], log)
            continue
        before = snapshot(ws)
        code, steps, output = run_logged(ws, run.args, log)
        assert code == 0, output
        if run.command not in references:
            references[run.command] = effect(ws, before, run.digest, steps)
            assert steps, f"{run.command} reported no durable step"
            crashed[run.command] = 0


def crash_cell(ws: Workspace, run: Run, reference: Effect, k: int, log: Path) -> None:
    cell = Cell(run.command, k, reference.steps[k - 1], backend(ws))
    cell.publish()
    before = snapshot(ws)
    code, steps, output = run_logged(ws, run.args, log, crash_after=k)
    assert code == SIGKILLED, f"step {k}: exit {code}, not SIGKILL\n{output}"
    crashed = effect(ws, before, run.digest, steps)
    assert crashed.steps == reference.steps[:k], crashed.steps
    events, tags = expected_after(reference, k)
    assert crashed.events == events, f"step {k}: the ledger holds {crashed.events}"
    assert tag_names(crashed.tags) == tags, f"step {k}: the registry holds {crashed.tags}"
    cell.died = "SIGKILL"
    cell.shown = run.shows(ws, crashed.events, crashed.steps)

    code, steps, output = run_logged(ws, run.args, log)
    extra: list[str] = []
    if run.command == "promote" and "PromotionCompleted" in crashed.events:
        # Documented (exit-codes.md, 10): a completed promotion run again is refused (the
        # refusal is an audit fact); --force completes it idempotently, writing nothing.
        assert code == 10, f"step {k}: the re-run exited {code}\n{output}"
        extra = ["PromotionRejected"]
        forced = ws.json(*run.args, "--force")
        assert forced[0] == 0 and forced[1]["nothing_written"] is True, forced
        cell.resumed = "exit 10 (done); --force: exit 0"
    else:
        assert code == 0, f"step {k}: the re-run exited {code}\n{output}"
        cell.resumed = "exit 0"
    resumed = effect(ws, before, run.digest, [])
    assert resumed.events == reference.events + extra, f"step {k}: {resumed.events}"
    assert resumed.tags == reference.tags, f"step {k}: {resumed.tags} != {reference.tags}"
    assert resumed.referrers == reference.referrers, f"step {k}: duplicate records"

    verify = ws.run("audit", "verify", "--registry")
    assert verify.returncode == 0, f"step {k}: verify\n{verify.stdout}{verify.stderr}"
    cell.verified = "exit 0"
    cell.publish()


def open_or_live(version: str, completed: str,
                 open_field: str) -> Callable[[Workspace, list[str], list[str]], str]:
    """What status must show after a crash of a promotion or rollback of ``version``: live
    once the crashed run saved its ``completed`` event, else open in ``open_field``."""
    def shows(ws: Workspace, events: list[str], steps: list[str]) -> str:
        row, _ = status_row(ws, ENV)
        if completed in events:
            assert (row["version"], row[open_field]) == (version, None), row
            return f"{version} live"
        assert row[open_field] == version, row
        return f"{open_field} {version}"
    return shows


# ---- promote --------------------------------------------------------------------------------

def promote_runs(ws: Workspace, pub: Publisher) -> Iterator[Run]:
    """v1.<i>.0, signed and promoted to dev, then promoted dev -> staging (gated)."""
    pub.keygen()
    ws.write_manifest(
        registry={"uri": ws.registry_uri, "plain_http": True,
                  "verification": {"enforcement": "enforce", "public_keys": ["keys/crash.pub"]}},
        promotion={"environments": [{"name": "dev"}, {"name": ENV, "gates": {"tests": True}},
                                    {"name": "prod"}],
                   "gate_commands": {"tests": {"command": ["true"]}}})
    i = 0
    while True:
        version = f"v1.{i}.0"
        digest = pub.push(version)
        done = ws.run("platform", "promote", version, "--to", "dev")
        assert done.returncode == 0, done.stderr
        yield Run("promote", ["platform", "promote", version, "--from", "dev", "--to", ENV],
                  digest, open_or_live(version, "PromotionCompleted", "open_promotion"))
        i += 1


# ---- rollback -------------------------------------------------------------------------------

def rollback_runs(ws: Workspace, pub: Publisher) -> Iterator[Run]:
    """staging ran v1.0.0 then v2.0.0; each run rolls it back to the other one."""
    digests = {}
    for version in ("v1.0.0", "v2.0.0"):
        digests[version] = pub.push(version)
        for args in (["--to", "dev"], ["--from", "dev", "--to", ENV]):
            done = ws.run("platform", "promote", version, *args)
            assert done.returncode == 0, done.stderr
    i = 0
    while True:
        version = ("v1.0.0", "v2.0.0")[i % 2]
        yield Run("rollback", ["platform", "rollback", version, "--env", ENV, "--reason",
                               f"crash cell {i}", "--yes"],  # v1 <-> v2: RISKY, confirmed
                  digests[version], open_or_live(version, "RolledBack", "open_rollback"))
        i += 1


# ---- lock and unlock ------------------------------------------------------------------------

def lock_runs(ws: Workspace, pub: Publisher) -> Iterator[Run]:
    """staging runs v1.0.0; lock and unlock alternate, each leaving the state the other needs."""
    digest = pub.push("v1.0.0")
    for args in (["--to", "dev"], ["--from", "dev", "--to", ENV]):
        done = ws.run("platform", "promote", "v1.0.0", *args)
        assert done.returncode == 0, done.stderr

    def shows(command: str) -> Callable[[Workspace, list[str], list[str]], str]:
        def check(ws: Workspace, events: list[str], steps: list[str]) -> str:
            row, warned = status_row(ws, ENV)
            assert row["locked"] is (command == "lock"), row
            # the first PUT of the index is the lock entry's (the head anchor's comes last)
            published = f"registry:PUT floe-{ENV}-index" in steps
            assert (f"the {command} of {ENV}" in warned) is not published, warned
            return ("locked" if row["locked"] else "unlocked") + (
                "" if published else ", warns: not in the registry")
        return check

    while True:
        for command in ("lock", "unlock"):
            yield Run(command, ["platform", command, "--env", ENV, "--reason", "crash cells"],
                      digest, shows(command))


# ---- the tests ------------------------------------------------------------------------------

SCENARIOS = {"promote": promote_runs, "rollback": rollback_runs, "lock-unlock": lock_runs}


@pytest.mark.requirement("NFR-004", "TXN-03", "TXN-04", "TXN-05", "FR-013", "FR-035", "FR-038")
@pytest.mark.parametrize("command", list(SCENARIOS))
def test_a_crash_after_any_durable_step_is_finished_by_the_same_command(
        workspace: Workspace, publisher: Publisher, command: str) -> None:
    crash_every_step(workspace, SCENARIOS[command](workspace, publisher))

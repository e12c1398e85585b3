"""What ``floe platform lock`` and ``unlock`` print on a terminal, line by line."""

from __future__ import annotations

import pytest

from floe_ledger.cli.render.lock import render_lock

pytestmark = pytest.mark.requirement("FR-035", "FR-036", "FR-037", "FR-038", "FR-039", "US8",
                                     "SC-009")
LOCK = {"locked_by": "alice", "locked_at": "2026-11-26T08:00:00+00:00",
        "reason": "incident INC-7"}


def test_a_new_lock_names_who_and_why_and_how_to_lift_it(terminal) -> None:
    render_lock(terminal.out, "prod", True, LOCK, "incident INC-7", "alice", locking=True)
    assert terminal.lines() == [
        "Locked prod (by alice): incident INC-7",
        "  unlock with: floe platform unlock --env prod --reason TEXT",
    ]


def test_locking_a_locked_environment_shows_the_lock_that_holds(terminal) -> None:
    render_lock(terminal.out, "prod", False, LOCK, "again", "bob", locking=True)
    assert terminal.lines() == [
        "prod is already locked by alice at 2026-11-26T08:00:00+00:00: incident INC-7"]


def test_unlocking_says_so_and_an_unlocked_environment_has_nothing_to_do(terminal) -> None:
    render_lock(terminal.out, "prod", True, None, "resolved [INC-7]", "alice", locking=False)
    render_lock(terminal.out, "staging", False, None, "resolved", "alice", locking=False)
    assert terminal.lines() == [
        "Unlocked prod: resolved [INC-7]",
        "staging was not locked; nothing to do",
    ]

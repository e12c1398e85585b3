"""What ``floe platform status`` prints on a terminal, line by line, at 100 columns.

The expected screens are module constants so that each line sits at column 0.
"""

from __future__ import annotations

import pytest

from floe_ledger.cli.render.status import render_status
from floe_ledger.projections.rows import EnvironmentStatus, HistoryEntry

DIGEST = "sha256:" + "12" * 32

THREE_ENVIRONMENTS = """\
Environments
┏━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━┓
┃ Environment ┃ Version ┃ Digest              ┃ Promoted By ┃ At                   ┃ Lock ┃
┡━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━┩
│ dev         │ v1.3.0  │ sha256:121212121212 │ alice       │ 2026-11-25 22:56:03Z │      │
│ staging     │ v1.2.3  │ sha256:121212121212 │ bob         │ 2026-11-24 09:00:00Z │      │
│ prod        │ -       │ -                   │ -           │ -                    │      │
└─────────────┴─────────┴─────────────────────┴─────────────┴──────────────────────┴──────┘
"""

# At 100 columns the lock text and the markers wrap inside their cells.
LOCKED_AND_ROLLED_BACK = """\
Environments
┏━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┓
┃ Environment ┃ Version         ┃ Digest          ┃ Promoted By ┃ At              ┃ Lock           ┃
┡━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━┩
│ staging     │ v1.2.3          │ sha256:1212121… │ bob         │ 2026-11-24      │                │
│             │ (interrupted:   │                 │             │ 09:00:00Z       │                │
│             │ v1.3.0)         │                 │             │                 │                │
│             │ (rollback)      │                 │             │                 │                │
│ prod        │ -               │ -               │ -           │ -               │ LOCKED by      │
│             │                 │                 │             │                 │ alice at       │
│             │                 │                 │             │                 │ 2026-11-26     │
│             │                 │                 │             │                 │ 08:00:00Z:     │
│             │                 │                 │             │                 │ INC-7          │
└─────────────┴─────────────────┴─────────────────┴─────────────┴─────────────────┴────────────────┘
"""

WITH_HISTORY = """\
Environments
┏━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━┓
┃ Environment ┃ Version ┃ Digest              ┃ Promoted By ┃ At                   ┃ Lock ┃
┡━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━┩
│ dev         │ v1.3.0  │ sha256:121212121212 │ alice       │ 2026-11-25 22:56:03Z │      │
└─────────────┴─────────┴─────────────────────┴─────────────┴──────────────────────┴──────┘
History: dev
┏━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ At                   ┃ Kind      ┃ Version ┃ Operator ┃ Reason       ┃ Identified By ┃
┡━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ 2026-11-25 22:56:03Z │ promotion │ v1.3.0  │ alice    │              │ -             │
│ 2026-11-25 20:00:00Z │ lock      │ -       │ bob      │ freeze [now] │ -             │
└──────────────────────┴───────────┴─────────┴──────────┴──────────────┴───────────────┘
"""

# FR-045: each history row says how its operator was identified ("-": not recorded).
IDENTIFIED_HISTORY = """\
History: dev
┏━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ At                   ┃ Kind     ┃ Version ┃ Operator        ┃ Reason       ┃ Identified By ┃
┡━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ 2026-11-25 22:56:03Z │ PROMOTED │ v1.3.0  │ ci@acme.example │              │ oidc          │
│ 2026-11-25 21:00:00Z │ REJECTED │ v1.3.0  │ bob             │ Unauthorized │ local         │
│ 2026-11-25 20:00:00Z │ LOCKED   │ -       │ alice           │ freeze       │ registry      │
└──────────────────────┴──────────┴─────────┴─────────────────┴──────────────┴───────────────┘
"""


@pytest.mark.requirement("FR-001", "FR-002", "FR-003", "US1", "US4", "FR-031", "FR-033")
def test_each_environment_is_a_row_with_a_short_digest_and_a_utc_time(terminal) -> None:
    rows = [EnvironmentStatus("dev", "v1.3.0", DIGEST, "alice",
                              "2026-11-25T22:56:03.123456+00:00").as_dict(),
            EnvironmentStatus("staging", "v1.2.3", DIGEST, "bob",
                              "2026-11-24T10:00:00+01:00").as_dict(),
            EnvironmentStatus("prod").as_dict()]
    render_status(terminal.out, rows, history=0)
    assert terminal.lines() == THREE_ENVIRONMENTS.splitlines()


@pytest.mark.requirement("FR-035", "FR-036", "FR-037", "FR-038", "FR-039", "US8", "SC-009")
def test_a_lock_says_who_when_and_why_and_a_rollback_or_interruption_is_marked(
        terminal) -> None:
    rows = [EnvironmentStatus("staging", "v1.2.3", DIGEST, "bob", "2026-11-24T09:00:00Z",
                              via="rollback", open_promotion="v1.3.0").as_dict(),
            EnvironmentStatus("prod", locked=True, lock_reason="INC-7", locked_by="alice",
                              locked_at="2026-11-26T08:00:00+00:00").as_dict()]
    render_status(terminal.out, rows, history=0)
    assert terminal.lines() == LOCKED_AND_ROLLED_BACK.splitlines()


@pytest.mark.requirement("FR-001", "FR-002", "FR-003", "US1", "US4", "FR-031", "FR-033")
def test_history_adds_a_table_per_environment_with_its_last_events(terminal) -> None:
    row = EnvironmentStatus("dev", "v1.3.0", DIGEST, "alice",
                            "2026-11-25T22:56:03+00:00").as_dict()
    row["history"] = [
        HistoryEntry("dev", "promotion", "v1.3.0", DIGEST, "alice",
                     "2026-11-25T22:56:03+00:00").as_dict(),
        HistoryEntry("dev", "lock", "", "", "bob", "2026-11-25T20:00:00+00:00",
                     reason="freeze [now]").as_dict(),
    ]
    render_status(terminal.out, [row], history=2)
    assert terminal.lines() == WITH_HISTORY.splitlines()


@pytest.mark.requirement("FR-045", "FR-048")
def test_history_says_how_each_operator_was_identified(terminal) -> None:
    row = EnvironmentStatus("dev", "v1.3.0", DIGEST, "alice",
                            "2026-11-25T22:56:03+00:00").as_dict()
    row["history"] = [
        HistoryEntry("dev", "PROMOTED", "v1.3.0", DIGEST, "ci@acme.example",
                     "2026-11-25T22:56:03+00:00", identified_by="oidc").as_dict(),
        HistoryEntry("dev", "REJECTED", "v1.3.0", "", "bob", "2026-11-25T21:00:00+00:00",
                     reason="Unauthorized", identified_by="local").as_dict(),
        HistoryEntry("dev", "LOCKED", "", "", "alice", "2026-11-25T20:00:00+00:00",
                     reason="freeze", identified_by="registry").as_dict(),
    ]
    render_status(terminal.out, [row], history=3)
    assert terminal.lines()[6:] == IDENTIFIED_HISTORY.splitlines()

"""What ``floe audit verify`` prints on a terminal, line by line, at 100 columns."""

from __future__ import annotations

import pytest

from floe_ledger.adapters.audit.verify import VerifyOutcome
from floe_ledger.cli.render.audit import render_verify
from floe_ledger.projections.audit import ChainBreak, ChainReport, StreamHead
from floe_ledger.projections.audit_drift import TagDrift

AID = "0b7f6c2e-9a51-5d4f-8c1e-2f3a4b5c6d7e"
REPO = "registry.example.com/acme/floe-platform"
HEAD = "9f" * 32


def report(*breaks: ChainBreak) -> ChainReport:
    return ChainReport({AID: StreamHead(AID, REPO, version=12, hash=HEAD, events=12)}, 12,
                       list(breaks))


@pytest.mark.requirement("FR-026")
def test_an_untouched_ledger_prints_each_stream_head(terminal) -> None:
    render_verify(terminal.out, VerifyOutcome(report(), seconds=0.0421))
    assert terminal.lines() == [
        "ledger verified: 1 stream(s), 12 events replayed from the first event in 0.04 s",
        f"  {REPO}  v12  {HEAD}",
    ]
    assert terminal.err_lines() == []


@pytest.mark.requirement("FR-026")
def test_a_broken_chain_names_the_event_kind_and_reason(terminal) -> None:
    broken = ChainBreak(AID, 7, "TagWritten", "edited",
                        "its hash does not match what v8 recorded [prev_hash]", repository=REPO)
    outcome = VerifyOutcome(report(broken), breaks=[broken], seconds=1.5)
    render_verify(terminal.out, outcome)
    assert terminal.lines() == [
        "ledger NOT VERIFIED: 1 stream(s), 12 events replayed from the first event in 1.50 s",
        f"  {REPO}  v12  {HEAD}",
        f"edited v7 TagWritten of {REPO}: its hash does not match what v8 recorded [prev_hash]",
    ]


@pytest.mark.requirement("FR-026", "SC-003")
def test_drift_lists_every_tag_moved_or_deleted_outside_floe(terminal) -> None:
    outcome = VerifyOutcome(report(), registry=f"oci://{REPO}", records=[{}, {}], drift=[
        TagDrift("latest-prod", "moved", "sha256:" + "aa" * 32, "sha256:" + "cc" * 32),
        TagDrift("v1.0.0-staging", "deleted", "sha256:" + "bb" * 32, None),
    ], seconds=0.2)
    render_verify(terminal.out, outcome)
    assert terminal.lines() == [
        "ledger NOT VERIFIED: 1 stream(s), 12 events replayed from the first event in 0.20 s",
        f"  {REPO}  v12  {HEAD}",
        f"registry oci://{REPO}: 2 tag(s) drifted, 2 record(s) checked",
        "  moved     latest-prod: ledger sha256:aaaaaaaaaaaa, registry sha256:cccccccccccc",
        "  deleted   v1.0.0-staging: ledger sha256:bbbbbbbbbbbb, registry -",
    ]


@pytest.mark.requirement("FR-023", "FR-026", "SC-003")
def test_a_checkpoint_is_named_and_warnings_go_to_stderr(terminal) -> None:
    outcome = VerifyOutcome(report(), checkpoint={"path": "cp.json", "streams": 1,
                                                  "created_at": "2026-11-20T14:30:00Z"},
                            warnings=["promotion 6f1c has a registry record but no "
                                      "PromotionCompleted"], seconds=0.01)
    render_verify(terminal.out, outcome)
    assert terminal.lines() == [
        "ledger verified: 1 stream(s), 12 events replayed from the first event in 0.01 s",
        f"  {REPO}  v12  {HEAD}",
        "checkpoint of 2026-11-20T14:30:00Z: 1 head(s) checked",
    ]
    assert terminal.err_lines() == [
        "warning: promotion 6f1c has a registry record but no PromotionCompleted"]

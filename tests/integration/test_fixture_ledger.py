"""A ledger written before issue 15's read-side changes still verifies, loads and folds alike.

tests/data/ledgers/ledger-v1.sqlite was written by the code of commit 7efa65a (see the
README there): every kind of event, floats, integers at the edge of the safe range, astral
and non-ASCII keys, escapes, a non-ASCII operator, and a stream with snapshots. Its heads
(version and chain hash) as that code computed them are in ledger-v1.json.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from floe_ledger.adapters.audit.events import raw_events
from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.store.rows import decode_row
from floe_ledger.projections.audit import verify_chain

pytestmark = pytest.mark.requirement("FR-026")

DATA = Path(__file__).resolve().parent.parent / "data" / "ledgers"
FLOE = str(Path(sys.executable).parent / "floe")


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    copy = tmp_path / "ledger-v1.sqlite"
    shutil.copyfile(DATA / "ledger-v1.sqlite", copy)
    copy.chmod(0o600)
    return copy


@pytest.fixture
def expected() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / "ledger-v1.json").read_text())
    return doc


def floe(*args: str, cwd: Path) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run([FLOE, *args, "-o", "json"], cwd=cwd, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(cwd),
                               "FLOE_LEDGER_URL": f"sqlite:///{cwd / 'ledger-v1.sqlite'}"})
    return proc.returncode, json.loads(proc.stdout)


def test_the_old_ledger_verifies_with_the_heads_it_was_written_with(
        ledger: Path, expected: dict[str, Any]) -> None:
    code, doc = floe("audit", "verify", cwd=ledger.parent)
    assert code == 0, doc
    assert doc["verified"] is True
    assert doc["events"] == expected["events"]
    assert doc["snapshots_checked"] >= 3  # the long stream's snapshots matched their events
    heads = {h["artifact_id"]: {"repository": h["repository"], "version": h["version"],
                                "hash": h["hash"]} for h in doc["heads"]}
    assert heads == expected["heads"]


def test_its_views_fold_again_to_what_the_old_code_folded(ledger: Path) -> None:
    # verify compares the views the old code wrote with a fold by today's code ...
    assert floe("audit", "verify", cwd=ledger.parent)[0] == 0
    # ... and after today's code folds them again, the ledger still verifies
    code, doc = floe("ledger", "rebuild", cwd=ledger.parent)
    assert code == 0, doc
    assert doc["ledger_events"] == 366
    assert floe("audit", "verify", cwd=ledger.parent)[0] == 0


def test_every_stream_loads_to_the_recorded_head(ledger: Path, expected: dict[str, Any]) -> None:
    store = EventStoreLedger(ledger_location(f"sqlite:///{ledger}", ledger.parent),
                             snapshot_key=b"k" * 32)  # not the key that sealed them: replays
    try:
        report = verify_chain(raw_events(store))
        assert report.first_break is None
        for aid, head in expected["heads"].items():
            artifact = store.load(head["repository"])
            assert artifact is not None and str(artifact.id) == aid
            assert (artifact.version, artifact.chain_head) == (head["version"], head["hash"])
            assert report.streams[aid].hash == head["hash"]
    finally:
        store.close()


def test_fast_decoding_gives_the_mappers_events(ledger: Path) -> None:
    store = EventStoreLedger(ledger_location(f"sqlite:///{ledger}", ledger.parent))
    try:
        rows = store.rows.rows(1, 10_000)
        assert len(rows) == 366
        for row in rows:
            fast = decode_row(row, store.app.mapper)
            stored = store.app.recorder.select_notifications(start=row[0], limit=1)[0]
            slow = store.app.mapper.to_domain_event(stored)
            assert type(fast) is type(slow)
            assert fast.model_dump() == slow.model_dump()
            assert fast.originator_id == UUID(row[1]) and fast.chain_hash() == slow.chain_hash()
    finally:
        store.close()

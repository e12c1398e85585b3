"""Security review §3: whoever can write the ledger database forges a snapshot that clears a
prod lock. Decisions load only snapshots this machine sealed, so the forged one is ignored and
the lock holds; `floe audit verify` compares every snapshot with its events and names it."""

from __future__ import annotations

import pytest

from floe_ledger.adapters.store.eventstore import SNAPSHOT_INTERVAL, EventStoreLedger
from floe_ledger.adapters.store.factory import open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.system.secrets import local_secret
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.snapshot import ArtifactSnapshot
from support.workspace import Workspace


def _open(ws: Workspace, key: bytes) -> EventStoreLedger:
    store = open_store(ledger_location(ws.env.get("FLOE_LEDGER_URL"), ws.root), ws.env)
    store.app.mapper.snapshot_key = key  # type: ignore[attr-defined]
    return store


@pytest.mark.requirement("FR-035", "NFR-004", "FR-026")
def test_a_forged_snapshot_neither_clears_a_lock_nor_passes_the_audit(workspace) -> None:
    ws = workspace
    ws.push("v1.0.0")
    for args in (("--to", "dev"), ("--from", "dev", "--to", "staging")):
        assert ws.run("platform", "promote", "v1.0.0", *args).returncode == 0
    assert ws.run("platform", "lock", "--env", "prod", "--reason", "INC-7 freeze").returncode == 0
    # Enough history for a genuine, sealed snapshot (the machine's own key).
    store = _open(ws, local_secret("ledger-snapshots", ws.env))
    art = store.load(ws.registry_uri)
    assert art is not None
    while art.version <= SNAPSHOT_INTERVAL + 3:
        if "dev" in art.locks:
            art.unlock("dev", "drill", Actor("sre"))
        else:
            art.lock("dev", "drill", Actor("sre"))
        store.save(art)
    store.close()
    # The attacker: the database, not the machine's key. Clears the lock in a new snapshot.
    forger = _open(ws, b"\x00" * 32)
    art = forger.load(ws.registry_uri)
    assert art is not None and "prod" in art.locks
    art.locks.clear()
    forger.app.snapshots.put([ArtifactSnapshot.take(art)])  # type: ignore[union-attr]
    forged_at = art.version
    forger.close()
    # The lock holds: the forged snapshot is not the machine's, the events are replayed.
    code, out = ws.json("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod")
    assert code == 13, out
    assert "INC-7 freeze" in out["error"]["message"]
    # The audit compares every snapshot with the state its events fold to.
    code, audit = ws.json("audit", "verify")
    assert code == 14, audit
    assert audit["snapshots_checked"] >= 2
    broken = [b for b in audit["breaks"] if b["kind"] == "ArtifactSnapshot"]
    assert [b["version"] for b in broken] == [forged_at]
    assert "forged or edited" in broken[0]["message"]

"""Write ``ledger-v1.sqlite`` and ``ledger-v1.json``: a small SQLite ledger for the
compatibility test (tests/integration/test_fixture_ledger.py).

The committed files were written by the code of commit 7efa65a (before the fast
canonical hash, batched decoding and raw-row reads); the test checks that the code of
today still verifies, loads and folds them to the same hashes. Run it again only to make
a fixture for a new schema version, never to "fix" a failing compatibility test:

    .venv/bin/python tests/data/ledgers/make_fixture.py tests/data/ledgers

The ledger holds every kind of event, and the values the canonical JSON treats
specially: floats (1.0, 1e21, 5e-7), integers at the edge of the IEEE-754 safe range,
non-ASCII and astral keys (sorted by UTF-16 code units), escapes and control characters,
an operator with a non-ASCII name, and a stream long enough (> 100 events) to have
snapshots.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import UsageError
from floe_ledger.domain.model.gate_results import GateResult, GateStatus
from floe_ledger.domain.model.identity import Actor, Operator
from floe_ledger.domain.model.records import ObservedRecord
from floe_ledger.domain.model.values import EnvironmentPath

PATH = EnvironmentPath(("dev", "staging", "prod"))
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ODD = {"é": 1, "e": 2, "😀": 3, "\uffff": 4, "\ue000": 5, "a": [1.0, 1e21, 5e-7, -0.5],
       "safe": 2**53 - 1, "unsafe16": 1234567890123456, "neg": -(2**53 - 1),
       "text": "a\u2028b\x7f\x00\x1f\"\\/é😀\n\t", "nested": {"z": {}, "y": [], "x": None}}


def digest(version: str) -> str:
    return "sha256:" + (version.encode().hex() * 64)[:64]


def promote(art: Artifact, actor: Actor, version: str, source: str | None, target: str,
            gates: list[GateResult]) -> None:
    pid = str(uuid.uuid4())
    d = digest(version)
    art.observe_version(version, d, source, f"{version}-{source}" if source else version, actor)
    art.request_promotion(promotion_id=pid, version=version, digest=d, source=source,
                          target=target, path=PATH, force=False, actor=actor)
    art.record_signature(pid, d, {"status": "verified", "mode": "key", "score": 0.75}, True,
                         actor)
    for gate in gates:
        art.record_gate(pid, gate, actor)
    for tag, mutable in ((f"{version}-{target}", False), (f"latest-{target}", True)):
        art.record_tag(pid, "oci://registry.test/acme", tag, d, mutable=mutable,
                       already_present=False, actor=actor)
    art.complete_promotion(pid, registries=[{"uri": "oci://registry.test/acme", "status": "ok",
                                             "seconds": 0.25}], actor=actor)


def odd_artifact(store: EventStoreLedger) -> Artifact:
    alice = Actor("alice", "trace-1")
    jose = Actor("José 😀", "trace-2", Operator("José 😀", source="oidc", authenticated=True))
    art = Artifact.register("oci://registry.test/acme/odd", actor=alice)
    gates = [GateResult(gate="tests", status=GateStatus.PASSED, duration_ms=1234,
                        timeout_seconds=30.0, timeout_requested=45.5, details=dict(ODD)),
             GateResult(gate="scan", status=GateStatus.WARNING, details={"high": 0})]
    promote(art, alice, "v1.0.0", None, "dev", gates)
    promote(art, jose, "v1.0.0", "dev", "staging", [])
    art.reject(UsageError("refused: \"quotes\" and é", hint="h\u2028", details=dict(ODD)),
               promotion_id=str(uuid.uuid4()), version="v2.0.0", source="staging",
               target="prod", actor=jose)
    art.lock("prod", "freeze ❄", alice)
    art.enter("prod", "hotfix 🔥", jose)
    art.unlock("prod", "thaw", alice)
    promote(art, alice, "v1.1.0", None, "dev", [])
    promote(art, alice, "v1.1.0", "dev", "staging", [])
    art.request_rollback(rollback_id="rb-1", version="v1.0.0", digest=digest("v1.0.0"),
                         env="staging", rollback_tag="v1.0.0-staging-rollback-1", sequence=1,
                         reason="bad config", impact={"risk": "SAFE", "score": 1.5},
                         actor=alice)
    art.roll_back(rollback_id="rb-1", version="v1.0.0", digest=art.check_rollback(
        "v1.0.0", "staging"), env="staging", rollback_tag="v1.0.0-staging-rollback-1",
        sequence=1, reason="bad config", impact={"risk": "SAFE", "score": 1.5},
        registries=[], actor=alice)
    art.observe_record(ObservedRecord(
        digest=digest("record-1"), kind="promotion", ledger_id="other-ledger",
        record_id="p-other", subject_digest=digest("v3.0.0"), environment="prod",
        operator="carol", at=T0 + timedelta(days=1), version="v3.0.0",
        source_environment="staging", identified_by="registry"), alice)
    art.adopt(adoption_id="a-1", version="v0.9.0", digest=digest("v0.9.0"), env="dev",
              tag="v0.9.0-dev", reason="migrated ✓", actor=alice)
    art.collect_tags(collection_id="gc-1", registry="oci://registry.test/acme", keep=2,
                     deleted={"v0.1.0-dev": digest("v0.1.0")}, absent={},
                     environments=["dev"], actor=alice)
    store.save(art)
    return art


def long_artifact(store: EventStoreLedger) -> Artifact:
    """More than 100 events, saved in several batches: snapshots at 100 (and on)."""
    actor = Actor("ci", "trace-3")
    art = Artifact.register("oci://registry.test/acme/long", actor=actor)
    for minor in range(30):
        for source, target in ((None, "dev"), ("dev", "staging")):
            promote(art, actor, f"v1.{minor}.0", source, target, [])
        store.save(art)
    return art


def main(folder: Path) -> None:
    db = folder / "ledger-v1.sqlite"
    db.unlink(missing_ok=True)
    store = EventStoreLedger(ledger_location(f"sqlite:///{db}", folder))
    try:
        arts = [odd_artifact(store), long_artifact(store)]
        store.refresh_views()
        events = store.max_position()
    finally:
        store.close()
    expected = {"events": events, "heads": {str(a.id): {
        "repository": a.repository, "version": a.version, "hash": a.chain_head}
        for a in arts}}
    (folder / "ledger-v1.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve())

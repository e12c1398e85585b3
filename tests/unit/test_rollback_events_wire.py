"""FR-017, FR-026: the rollback events keep their stored form and hash, byte for byte.

The expected bytes and hashes were computed by main's events.py when RollbackRequested
and RolledBack each declared their fields; a ledger written then must still load and
verify, so neither the stored JSON (fields, order, defaults) nor the chain hash may move.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder

from floe_ledger.adapters.store.mapper import PydanticMapper, encode_state
from floe_ledger.domain.model import events as ev

pytestmark = pytest.mark.requirement("FR-017", "FR-026")

AID = UUID("0b7f6c2e-9a51-5d4f-8c1e-2f3a4b5c6d7e")
FULL: dict[str, Any] = dict(
    originator_id=AID, originator_version=9, timestamp=datetime(2026, 11, 21, 9, 15, tzinfo=UTC),
    prev_hash="cd" * 32, operator="alice", trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
    identified_by="oidc", rollback_id="rb-1", version="1.4.2", digest="sha256:" + "e" * 64,
    environment="prod", previous_version="1.5.0", previous_digest="sha256:" + "f" * 64,
    rollback_tag="prod-rollback-3", sequence=3, reason="INC-7", impact={"services": ["api"]})
#: Only the required fields: the defaults (impact, registries) are stored as well.
BARE: dict[str, Any] = dict(
    originator_id=AID, originator_version=4, timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    rollback_id="rb-2", version="0.1.0", digest="sha256:" + "a" * 64, environment="dev",
    previous_version=None, previous_digest=None, rollback_tag="v0.1.0-dev-rollback-1",
    sequence=1, reason="")
REGISTRIES = [{"name": "primary", "status": "ok"}]

HEAD = ('{"timestamp":"2026-11-21T09:15:00Z","prev_hash":"' + "cd" * 32 + '","operator":"alice",'
        '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","identified_by":"oidc","rollback_id":"rb-1",'
        '"version":"1.4.2","digest":"sha256:' + "e" * 64 + '","environment":"prod",'
        '"previous_version":"1.5.0","previous_digest":"sha256:' + "f" * 64 + '",'
        '"rollback_tag":"prod-rollback-3","sequence":3,"reason":"INC-7",'
        '"impact":{"services":["api"]}')
BARE_HEAD = ('{"timestamp":"2026-01-02T03:04:05Z","prev_hash":"' + "0" * 64 + '","operator":"",'
             '"trace_id":"","rollback_id":"rb-2","version":"0.1.0","digest":"sha256:' + "a" * 64
             + '","environment":"dev","previous_version":null,"previous_digest":null,'
             '"rollback_tag":"v0.1.0-dev-rollback-1","sequence":1,"reason":"","impact":{}')

CASES = [
    pytest.param(ev.RollbackRequested(**FULL), "floe.ledger/RollbackRequested.v1", HEAD + "}",
                 "c62386177745fb3164900cbf8b1c0a576bf00d4ea44449c6534361b46ee07a70",
                 id="requested"),
    pytest.param(ev.RolledBack(**FULL, registries=REGISTRIES), "floe.ledger/RolledBack.v1",
                 HEAD + ',"registries":[{"name":"primary","status":"ok"}]}',
                 "2a16c3df01762e38d66f3d159270bcebe90f5d8cd2adc9765ddfe715f1614522",
                 id="rolled-back"),
    pytest.param(ev.RollbackRequested(**BARE), "floe.ledger/RollbackRequested.v1",
                 BARE_HEAD + "}",
                 "eec484fc537e319d297de9e5b19d1007e1044fd50a41b4516b5d6471e08b5802",
                 id="requested-defaults"),
    pytest.param(ev.RolledBack(**BARE), "floe.ledger/RolledBack.v1",
                 BARE_HEAD + ',"registries":[]}',
                 "948e9058889f3b6409cf32ba1ddbf2f63358bff1535f4804fd97a700f1f961f7",
                 id="rolled-back-defaults"),
]


@pytest.mark.parametrize(("event", "topic", "stored", "chain_hash"), CASES)
def test_a_rollback_event_is_stored_and_hashed_as_before(
        event: ev.ArtifactEvent, topic: str, stored: str, chain_hash: str) -> None:
    assert topic == event.TOPIC
    assert encode_state(event).decode() == stored  # the fields, their order and defaults
    assert event.chain_hash() == chain_hash


@pytest.mark.parametrize(("event", "topic", "stored", "chain_hash"), CASES)
def test_a_stored_rollback_event_loads_as_the_same_event(
        event: ev.ArtifactEvent, topic: str, stored: str, chain_hash: str) -> None:
    mapper = PydanticMapper(transcoder=JSONTranscoder())
    row = mapper.to_stored_event(event)
    assert (row.topic, row.state.decode()) == (topic, stored)
    back = mapper.to_domain_event(row)
    assert type(back) is type(event) and back == event
    assert back.chain_hash() == chain_hash

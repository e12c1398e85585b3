"""The outbox lives in the ledger's own database: SQLite or a shared PostgreSQL (FR-040).

The PostgreSQL case needs FLOE_TEST_POSTGRES_URL (``scripts/with-postgres.sh``, which
``make test`` uses); without it, it fails: it is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.store.factory import init_store, open_store
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.webhooks.delivery import deliver_pending, notify_after_command, outbox_for
from floe_ledger.domain.model.artifact_id import artifact_id
from floe_ledger.domain.model.config import WebhookConfig
from support.ledger_db import KINDS, fresh_ledger_url
from support.ledger_events import LedgerWriter
from support.webhook_server import WebhookServer, free_port

REPO = "oci://127.0.0.1:5999/acme/app"


@pytest.fixture(params=KINDS)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerWriter]:
    with fresh_ledger_url(request.param, tmp_path) as url:
        location = ledger_location(url, tmp_path)
        init_store(location, {})
        writer = LedgerWriter(None, REPO, store=open_store(location, {}))
        yield writer
        writer.close()


@pytest.mark.requirement("FR-040", "FR-043", "WH-07")
def test_deliveries_survive_in_the_ledger_database_until_the_endpoint_is_back(
    ledger: LedgerWriter,
) -> None:
    down = WebhookServer(port=free_port())
    hooks = [WebhookConfig(url=down.url("/a"), events=["lock", "unlock"], retry_count=0),
             WebhookConfig(url=down.url("/b"), events=["unlock"], retry_count=0)]
    ledger.lock("prod", "incident")
    ledger.unlock("prod", "resolved")

    warnings = notify_after_command(ledger.store, REPO, hooks, {})
    assert len(warnings) == 2  # one per endpoint; /a's unlock waits behind its lock

    stream = str(artifact_id(REPO))
    with outbox_for(ledger.store, {}) as box:
        pending = box.deliveries(stream)
        assert sorted(d.event_type for d in pending) == ["lock", "unlock", "unlock"]
        with down:
            report = deliver_pending(box, stream, hooks, {}, due_only=False)
            assert report.warnings == [] and len(report.delivered) == 3
        assert box.deliveries(stream) == []
        assert len(box.deliveries(stream, include_delivered=True)) == 3
    assert [r.json()["event_type"] for r in down.requests_for("/a")] == ["lock", "unlock"]
    assert [r.json()["event_type"] for r in down.requests_for("/b")] == ["unlock"]
    # nothing is enqueued twice
    assert notify_after_command(ledger.store, REPO, hooks, {}) == []
    assert len(down.requests) == 3

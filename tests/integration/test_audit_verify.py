"""`audit verify --registry` in process: an OCI layout, a SQLite ledger, real promotions with
records, then the registry or the ledger changed behind floe's back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.audit.verify import VerifyOutcome, ledger_rows, verify_ledger
from floe_ledger.adapters.records import OciRecordWriter
from floe_ledger.adapters.registry import push_files
from floe_ledger.adapters.system.clock import SystemClock
from floe_ledger.cli.app import App, Settings
from floe_ledger.domain.model.errors import NotFoundError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest

pytestmark = pytest.mark.requirement("FR-023", "FR-026", "SC-003")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("artifacts:\n  registry:\n    uri: oci-layout:./oci\n")
    opened = App(Settings.from_options(str(manifest), env={"USER": "alice"}))
    bundle = tmp_path / "bundle.yaml"
    bundle.write_text("release: v1.0.0\n")
    push_files(opened.registry, [bundle], "v1.0.0")
    service = PromotionService(store=opened.store, registry=opened.registry,
                               repository=opened.repository, clock=SystemClock(),
                               config=opened.manifest.artifacts.promotion,
                               records=OciRecordWriter())
    service.promote(PromoteRequest("v1.0.0", None, "dev"), Actor("alice"))
    service.promote(PromoteRequest("v1.0.0", "dev", "staging"), Actor("bob"))
    yield opened
    opened.close()


def _verify(app: App) -> VerifyOutcome:
    return verify_ledger(app, ledger_rows(app), registry=True)


def _ledger(app: App) -> sqlite3.Connection:
    assert app.ledger_location.path is not None
    return sqlite3.connect(app.ledger_location.path)


def test_a_ledger_and_registry_in_step_verify(app: App) -> None:
    outcome = _verify(app)
    assert outcome.ok, outcome.payload()
    assert len(outcome.records) == 2 and outcome.warnings == []
    assert all(r["ledger_head"] for r in outcome.records)


def test_a_tag_deleted_from_the_layout_is_drift(app: App) -> None:
    index_path = app.settings.base_dir / "oci" / "index.json"
    index = json.loads(index_path.read_text())
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get(
                              "org.opencontainers.image.ref.name") != "v1.0.0-staging"]
    index_path.write_text(json.dumps(index))
    outcome = _verify(app)
    assert [(d.tag, d.status) for d in outcome.drift] == [("v1.0.0-staging", "deleted")]
    assert "v1.0.0-staging (deleted)" in outcome.error().message


def _newest_head(outcome: VerifyOutcome) -> int:
    return max(int(r["ledger_head"]["version"]) for r in outcome.records)


def test_events_deleted_back_past_a_records_head_are_truncation(app: App) -> None:
    head = _newest_head(_verify(app))
    with _ledger(app) as db:
        db.execute("DELETE FROM stored_events WHERE rowid >= ?", (head,))
    outcome = _verify(app)
    assert outcome.report.first_break is None  # the chain alone cannot tell ...
    truncated = [b for b in outcome.breaks if b.reason == "truncated"]
    assert len(truncated) == 1 and truncated[0].version == head  # ... the record can
    [incomplete] = outcome.incomplete  # and its promotion is reported as unfinished
    assert incomplete["target_environment"] == "staging" and incomplete["version"] == "v1.0.0"


def test_deleting_the_final_commit_after_the_record_shows_as_drift(app: App) -> None:
    head = _newest_head(_verify(app))
    with _ledger(app) as db:  # both env tags and the completion, one commit
        db.execute("DELETE FROM stored_events WHERE rowid > ?", (head,))
    outcome = _verify(app)
    # The promotion record's head is still there, but the head the command anchored when it
    # ended saw the deleted commit: the ledger now fails closed (it holds less than a witness).
    assert [(b.reason, b.version) for b in outcome.breaks] == [("truncated", head + 1)]
    assert "registry anchor floe-staging-index" in outcome.breaks[0].message
    assert [(d.tag, d.status) for d in outcome.drift] == [("latest-staging", "untracked"),
                                                          ("v1.0.0-staging", "unexplained")]
    assert len(outcome.incomplete) == 1  # ... and the promotion looks interrupted
    assert outcome.warnings == []


def test_a_record_naming_a_promotion_the_ledger_lacks_is_a_removal(app: App) -> None:
    digest = app.registry.resolve("v1.0.0")
    assert digest is not None
    OciRecordWriter().write(app.registry, digest.digest, {
        "promotion_id": "deadbeef-0000-4000-8000-000000000000", "target_environment": "prod",
        "operator": "mallory"})
    outcome = _verify(app)
    assert [b.reason for b in outcome.breaks] == ["removed"]
    assert "deadbeef" in outcome.breaks[0].message


def test_no_ledger_is_not_found(tmp_path: Path) -> None:
    app = App(Settings.from_options(str(tmp_path / "manifest.yaml"), env={}))
    with pytest.raises(NotFoundError, match="no ledger"):
        ledger_rows(app)

"""Test-only: pins the timestamp of every ledger event a ``floe`` subprocess writes.

Put this directory on the subprocess's PYTHONPATH and set FLOE_TEST_EVENT_TIME to an ISO 8601
time: Python imports ``sitecustomize`` at start-up, and this one replaces the events'
``create_timestamp`` (the one seam eventsourcing offers for it; tests/support/
audit_scenarios.py uses the same seam in-process). Nothing else about time changes: the
registry, leases, gates and records keep the wall clock. floe itself has no such hook.
"""

from __future__ import annotations

import os

_AT = os.environ.get("FLOE_TEST_EVENT_TIME")
if _AT:
    from datetime import datetime

    from floe_ledger.domain.model.events import ArtifactEvent

    _MOMENT = datetime.fromisoformat(_AT)
    ArtifactEvent.create_timestamp = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls: _MOMENT)

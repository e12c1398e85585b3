"""What a ``Retry-After`` header asks for (RFC 9110 §10.2.3): seconds, or an HTTP-date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from floe_ledger.adapters.system.net import retry_after_seconds
from floe_ledger.domain.model.config import RegistryConfig

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.requirement("EDGE-03")
@pytest.mark.parametrize(("value", "seconds"), [
    ("1", 1.0), (" 120 ", 120.0), ("0", 0.0),
    ("Fri, 02 Jan 2026 03:04:15 GMT", 10.0),  # a date 10 s from now
    ("Fri, 02 Jan 2026 03:00:00 GMT", 0.0),  # a date past: no wait
    (None, None), ("", None), ("soon", None), ("-1", None), ("1.5", None),
])
def test_retry_after_is_read_as_seconds_or_a_date(value: str | None,
                                                  seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


@pytest.mark.requirement("CFG-01")
def test_the_registry_timeout_is_positive_and_bounded() -> None:
    assert RegistryConfig(uri="oci://r.example/a").timeout_seconds == 30
    assert RegistryConfig(uri="oci://r.example/a", timeout_seconds=1.5).timeout_seconds == 1.5
    for wrong in (0, -1, 601):
        with pytest.raises(ValueError, match="timeout_seconds"):
            RegistryConfig(uri="oci://r.example/a", timeout_seconds=wrong)

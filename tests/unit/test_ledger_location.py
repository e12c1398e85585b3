"""Where the ledger lives; it never silently falls back to an in-memory store."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ledger.adapters.store.location import LedgerLocation, ledger_location
from floe_ledger.domain.model.errors import ConfigError


def test_the_default_is_beside_the_manifest(tmp_path: Path) -> None:
    loc = ledger_location(None, tmp_path)
    assert loc.kind == "sqlite" and loc.path == tmp_path / ".floe" / "ledger.sqlite"


def test_sqlite_urls_absolute_and_relative(tmp_path: Path) -> None:
    assert ledger_location("sqlite:///var/l.db", tmp_path).path == Path("/var/l.db")
    assert ledger_location("sqlite:ledgers/a.db", tmp_path).path == tmp_path / "ledgers/a.db"


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite::memory:", "sqlite://"])
def test_an_in_memory_ledger_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="lose every event"):
        ledger_location(url, tmp_path)


def test_an_unknown_scheme_is_a_config_error_and_a_password_is_never_shown(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unsupported scheme"):
        ledger_location("mysql://u:p@h/db", tmp_path)
    loc = ledger_location("postgresql://ledger:s3cret@db.internal:5432/floe", tmp_path)
    assert "s3cret" not in loc.display and loc.display.endswith("db.internal:5432/floe")


@pytest.mark.parametrize("password", ["5432/pw-cut-by-a-slash", "5432?pw-cut-by-a-query",
                                      "pw-cut-by-a-slash/x", "5432#pw-cut-by-a-hash"])
def test_a_password_with_an_unencoded_delimiter_is_refused_without_quoting_it(
        tmp_path, password: str) -> None:
    """Such a password cuts the URL apart: its pieces became the port, the path or the query,
    and error messages (and `display`) quoted them (issue 13, secrets)."""
    url = f"postgresql://ledger:{password}@db.internal:5432/floe"
    with pytest.raises(ConfigError) as refused:
        ledger_location(url, tmp_path)
    said = f"{refused.value.message} {refused.value.hint} {refused.value.details}"
    assert "percent-encode" in said
    for piece in password.replace("?", "/").replace("#", "/").split("/"):
        assert len(piece) < 5 or piece not in said
    assert "pw-cut" not in LedgerLocation("postgresql", url=url).display


def test_a_percent_encoded_password_parses(tmp_path) -> None:
    loc = ledger_location("postgresql://ledger:pw%2Fwith%3Fall%23of%40them@db:5432/floe",
                          tmp_path)
    assert loc.display == "postgresql://db:5432/floe"

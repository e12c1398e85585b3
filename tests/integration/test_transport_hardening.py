"""Security review §18: the JWKS URL is https (loopback http only) and size-capped; a
PostgreSQL ledger off loopback is reached with sslmode at least ``require``."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ledger.adapters.identity.operator import JWKS_MAX_BYTES, resolve_operator
from floe_ledger.adapters.store.location import ledger_location
from floe_ledger.adapters.store.postgres import postgres_target
from floe_ledger.domain.model.config import IdentityConfig, OidcConfig
from floe_ledger.domain.model.errors import ConfigError, UnauthorizedError
from support.hostile_server import HostileServer
from support.oidc import OidcIssuer


def _identity(jwks_url: str) -> IdentityConfig:
    oidc = OidcIssuer.config() | {"jwks_file": None, "jwks_url": jwks_url}
    return IdentityConfig(oidc=OidcConfig(**oidc))


@pytest.mark.requirement("FR-045")
@pytest.mark.parametrize("url", ["http://idp.example/jwks.json", "ftp://idp.example/k",
                                 "http://10.1.2.3/jwks.json"])
def test_a_jwks_url_without_https_is_a_config_error(tmp_path: Path, url: str) -> None:
    token = OidcIssuer(tmp_path).token()
    with pytest.raises(ConfigError, match=r"jwks_url must be an https URL") as caught:
        resolve_operator(_identity(url), {"FLOE_OIDC_TOKEN": token}, base_dir=tmp_path)
    assert caught.value.exit_code == 2


@pytest.mark.requirement("FR-045")
def test_a_loopback_jwks_is_used_and_an_oversized_one_refused(tmp_path: Path) -> None:
    issuer = OidcIssuer(tmp_path)
    token = issuer.token()
    with HostileServer() as idp:
        idp.route("GET", "/jwks.json", 200, {"Content-Type": "application/json"},
                  (tmp_path / "jwks.json").read_bytes())
        idp.route("GET", "/huge.json", 200, {}, b"{" + b" " * (JWKS_MAX_BYTES + 1) + b"}")

        env = {"FLOE_OIDC_TOKEN": token}
        who = resolve_operator(_identity(idp.url("/jwks.json")), env, base_dir=tmp_path)
        assert who.name == "ci@acme.example" and who.authenticated
        with pytest.raises(UnauthorizedError, match="larger than") as caught:
            resolve_operator(_identity(idp.url("/huge.json")), env, base_dir=tmp_path)
        assert caught.value.exit_code == 12


@pytest.mark.requirement("FR-026")
def test_a_remote_postgres_ledger_requires_tls(tmp_path: Path) -> None:
    remote = ledger_location("postgresql://ci:pw-77x@db.internal/ledger", tmp_path)
    assert postgres_target(remote, {}).sslmode == "require"
    assert postgres_target(remote, {"PGSSLMODE": "verify-full"}).sslmode == "verify-full"
    for weak in ("disable", "allow", "prefer"):
        url = f"postgresql://ci:pw-77x@db.internal/ledger?sslmode={weak}"
        with pytest.raises(ConfigError, match=f"sslmode={weak}") as caught:
            postgres_target(ledger_location(url, tmp_path), {})
        assert "pw-77x" not in str(caught.value.as_dict()) and caught.value.exit_code == 2
        with pytest.raises(ConfigError):
            postgres_target(remote, {"PGSSLMODE": weak})

    local = ledger_location("postgresql://ci:pw@127.0.0.1:5432/ledger?sslmode=disable", tmp_path)
    assert postgres_target(local, {}).sslmode == "disable"  # loopback: as asked
    assert postgres_target(ledger_location("postgresql://ci@localhost/l", tmp_path),
                           {}).sslmode is None

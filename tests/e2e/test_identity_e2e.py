"""FR-045: identity comes from a verified OIDC token, never from a flag."""

from __future__ import annotations

import pytest

from support.oidc import OidcIssuer


@pytest.fixture
def oidc(workspace):
    issuer = OidcIssuer(workspace.root)
    workspace.write_manifest(
        identity={"oidc": issuer.config(), "groups": {"ci@acme.example": ["release"]}},
        promotion={"environments": [{"name": "dev", "authorization": {
            "allowed_groups": ["platform-admins"]}}]},
    )
    return workspace, issuer.token


@pytest.mark.requirement("FR-045", "FR-047")
def test_a_verified_token_names_the_operator_and_their_groups(oidc) -> None:
    ws, token = oidc
    code, out = ws.json("whoami", env={"FLOE_OIDC_TOKEN": token()})
    assert code == 0, out
    op = out["operator"]
    assert op["name"] == "ci@acme.example" and op["source"] == "oidc"
    assert op["authenticated"] is True
    assert set(op["groups"]) == {"platform-admins", "release"}
    ws.push("v1.0.0")
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev",
                        env={"FLOE_OIDC_TOKEN": token()})
    assert code == 0, out
    assert ws.events("PromotionRequested")[-1]["authorization"]["authorized_via"] == \
        "group:platform-admins"


@pytest.mark.requirement("FR-045", "FR-049")
@pytest.mark.parametrize("claims", [{"aud": "someone-else"}, {"iss": "https://evil.example"},
                                    {"exp": 1}])
def test_a_token_that_does_not_verify_is_refused(oidc, claims) -> None:
    ws, token = oidc
    proc = ws.run("whoami", env={"FLOE_OIDC_TOKEN": token(**claims)})
    assert proc.returncode == 12
    assert "FLOE_OIDC_TOKEN was refused" in proc.stderr


@pytest.mark.requirement("FR-045", "FR-046")
def test_without_credentials_the_local_user_is_unauthenticated_and_refused(oidc) -> None:
    ws, _ = oidc
    code, who = ws.json("whoami")
    assert who["operator"]["authenticated"] is False
    ws.push("v1.0.0")
    code, out = ws.json("platform", "promote", "v1.0.0", "--to", "dev")
    assert code == 12
    assert "not authenticated" in out["error"]["message"]

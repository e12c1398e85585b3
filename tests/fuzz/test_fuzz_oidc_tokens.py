"""Hostile OIDC tokens in FLOE_OIDC_TOKEN: refused with exit 12 and a reason, never accepted,
never a traceback, and never echoed (no part of the token appears in any output).

Tokens are forged by hand (support.hostile_tokens): ``alg: none``, HS256 keyed with the
issuer's public key, an ES256/PS256/EdDSA header over an RSA signature, another key, a
truncated or transplanted signature, unknown kids; valid signatures over claims that are
expired, not yet valid, for another audience or issuer, missing, or of the wrong type; and
strings that are no JWT at all (bad base64, bad JSON, 1 MB long, nested 50 000 deep).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.fuzzing import BASE_MANIFEST, LocalSite, Tally, fuzz_settings, invoke, local_site
from support.hostile_tokens import SIGNINGS, claims, forge, not_jwts
from support.oidc import AUDIENCE, ISSUER, OidcIssuer

ACCEPTED_SIGNINGS = {"rs256", "rs256-no-kid"}  # the issuer's key; the JWKS has one key


class Site:
    def __init__(self, site: LocalSite) -> None:
        self.site = site
        self.issuer = OidcIssuer(site.root)
        site.write(BASE_MANIFEST + "  identity:\n    oidc:\n"
                   f"      issuer: {ISSUER}\n      audience: {AUDIENCE}\n"
                   "      jwks_file: jwks.json\n")

    def run(self, token: str, tally: Tally, allowed: set[int],
            args: tuple[str, ...] = ("whoami",)) -> dict[str, Any]:
        result = invoke([*args, "-o", "json", "--manifest", str(self.site.manifest)], tally,
                        allowed, {**self.site.env, "FLOE_OIDC_TOKEN": token})
        text = result.stdout + result.stderr
        leaked = [part for part in token.split(".") if len(part) >= 10 and part in text]
        assert not leaked, f"a part of the token is in the output: {leaked[0][:40]}"
        doc: dict[str, Any] = json.loads(result.stdout)
        if result.exit_code == 12:
            assert doc["error"]["code"] == "unauthorized" and doc["error"]["message"], doc
        return doc


@pytest.fixture(scope="module")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return Site(local_site(tmp_path_factory.mktemp("oidc-fuzz"), promoted=False))


@pytest.mark.requirement("FR-045", "EXIT-12")
def test_forged_signatures_are_refused(oidc: Site, tally) -> None:
    count = tally("OIDC tokens: forged signatures and algorithms")
    for signing in SIGNINGS:
        allowed = {0} if signing in ACCEPTED_SIGNINGS else {12}
        doc = oidc.run(forge(oidc.issuer, claims(), signing), count, allowed)
        if signing in ACCEPTED_SIGNINGS:
            assert doc["operator"]["source"] == "oidc"
        for header in ({"alg": None}, {"alg": ["RS256"]}, {"kid": 5}, {"crit": ["exp"]}):
            oidc.run(forge(oidc.issuer, claims(), signing, header), count, {12})


def _fatal() -> dict[str, list[Any]]:
    now = int(time.time())
    return {"exp": [None, now - 3600, "tomorrow", [], {}, -1],
            "iss": [None, "https://evil.example", 5, [ISSUER], ISSUER + "/"],
            "aud": [None, "other", [], ["other"], 5, {"aud": AUDIENCE}],
            "nbf": [now + 3600, "x"], "iat": [now + 3600, "x"]}


_odd = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                 st.lists(st.text(max_size=5), max_size=3),
                 st.sampled_from(["\x1b[2K\n", "\ud800", "x" * 50_000, "[red]", "\u202e"]))
# Claims floe reads but that cannot make a valid token invalid (names, groups, extras).
BENIGN = ("groups", "email_verified", "email", "custom", "amr", "act")


@pytest.mark.requirement("FR-045", "EXIT-12")
@given(fatal=st.lists(st.sampled_from(sorted(_fatal())), max_size=2, unique=True),
       benign=st.dictionaries(st.sampled_from(BENIGN), _odd, max_size=3), data=st.data())
@fuzz_settings(examples=120)
def test_claims_decide_only_as_the_spec_says(oidc: Site, tally, fatal, benign, data) -> None:
    changes = {name: data.draw(st.sampled_from(_fatal()[name])) for name in fatal}
    token = forge(oidc.issuer, claims(**benign, **changes))
    doc = oidc.run(token, tally("OIDC tokens: claims (expired, audience, issuer, types)"),
                   {12} if fatal else {0})
    if not fatal:
        assert doc["operator"]["authenticated"] is True


@pytest.mark.requirement("FR-045", "EXIT-12")
def test_strings_that_are_no_jwt_are_refused(oidc: Site, tally) -> None:
    count = tally("OIDC tokens: not JWTs (base64, JSON, 1 MB, deep nesting)")
    for token in not_jwts(oidc.issuer):
        oidc.run(token, count, {0} if token == "" else {12})  # empty: no token given


@pytest.mark.requirement("FR-045", "EXIT-12")
@given(token=st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
                     min_size=1, max_size=300))
@fuzz_settings(examples=80)
def test_random_text_is_refused(oidc: Site, tally, token) -> None:
    oidc.run(token, tally("OIDC tokens: random text"), {12})


@pytest.mark.requirement("FR-045", "FR-048", "EXIT-12")
def test_a_refused_token_writes_nothing(oidc: Site, tally) -> None:
    count = tally("OIDC tokens: refused before a write")
    history = ("audit", "history", "--ledger", str(oidc.site.root / ".floe" / "ledger.sqlite"))
    expired = forge(oidc.issuer, claims(exp=int(time.time()) - 3600))
    good = forge(oidc.issuer, claims())
    oidc.run(good, Tally("setup"), {0}, ("platform", "lock", "--env", "dev", "--reason", "r"))
    before = oidc.run(good, Tally("setup"), {0}, history)["entries"]
    assert "EnvironmentLocked" in [e["kind"] for e in before], before
    for token in (expired, forge(oidc.issuer, claims(), "none"), "x" * 100_000):
        oidc.run(token, count, {12}, ("platform", "lock", "--env", "prod", "--reason", "r"))
    assert oidc.run(good, Tally("setup"), {0}, history)["entries"] == before

"""The pure policy model, verdicts and the enforcement decision."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.signature import (
    SignatureVerdict,
    TrustedIssuer,
    VerificationPolicy,
    decide,
    outcome_message,
    parse_policy,
    policy_fingerprint,
    refusal_message,
)

DIGEST = "sha256:" + "a" * 64
ISSUER = TrustedIssuer(issuer="https://token.actions.githubusercontent.com",
                       subject_regex=r"https://github\.com/acme/.*")


def test_defaults_are_off() -> None:
    policy = VerificationPolicy()
    assert (policy.enforcement, policy.public_keys, policy.trusted_issuers) == ("off", [], [])


@pytest.mark.requirement("FR-021")
def test_config_is_validated_strictly() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        VerificationPolicy.model_validate({"enforcement": "warn", "keys": ["a.pub"]})
    with pytest.raises(ValidationError):
        VerificationPolicy.model_validate({"enforcement": "strict", "public_keys": ["a.pub"]})
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        VerificationPolicy.model_validate(
            {"trusted_issuers": [{"issuer": "x", "subject_regex": "(unclosed"}]})
    with pytest.raises(ValidationError, match="Extra inputs"):
        TrustedIssuer.model_validate({"issuer": "x", "subject_regex": ".*", "san": "y"})


@pytest.mark.requirement("FR-021")
def test_enforcement_without_anything_trusted_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="nothing could ever verify"):
        VerificationPolicy(enforcement="enforce")
    VerificationPolicy(enforcement="warn", public_keys=["cosign.pub"])
    VerificationPolicy(enforcement="enforce", trusted_issuers=[ISSUER])


def test_trusted_issuer_matches_whole_san_under_its_issuer() -> None:
    san = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1"
    assert ISSUER.matches(ISSUER.issuer, ["mail@example.com", san]) == san
    assert ISSUER.matches("https://accounts.google.com", [san]) is None
    assert ISSUER.matches(ISSUER.issuer, ["xhttps://github.com/acme/app"]) is None
    assert ISSUER.matches(None, [san]) is None


@pytest.mark.requirement("FR-005", "FR-021", "US5")
@pytest.mark.parametrize(
    ("enforcement", "status", "expected"),
    [
        ("off", "skipped", "proceed"),
        ("off", "failed", "proceed"),
        ("warn", "verified", "proceed"),
        ("warn", "unsigned", "warn"),
        ("warn", "failed", "warn"),
        ("warn", "skipped", "warn"),
        ("enforce", "verified", "proceed"),
        ("enforce", "unsigned", "refuse"),
        ("enforce", "failed", "refuse"),
        ("enforce", "skipped", "refuse"),
    ],
)
def test_decide(enforcement: str, status: str, expected: str) -> None:
    verdict = SignatureVerdict.model_validate({"digest": DIGEST, "status": status})
    assert decide(enforcement, verdict) == expected  # type: ignore[arg-type]


@pytest.mark.requirement("US5")
def test_messages() -> None:
    unsigned = SignatureVerdict(digest=DIGEST, status="unsigned")
    assert refusal_message(unsigned) == f"{DIGEST} is unsigned and enforcement enabled"
    failed = SignatureVerdict(digest=DIGEST, status="failed", reasons=["bad key"])
    assert refusal_message(failed).endswith("bad key")
    verified = SignatureVerdict(digest=DIGEST, status="verified", mode="key",
                                key_fingerprint="f" * 64)
    assert verified.summary() == "Signature verified: key " + "f" * 40
    keyless = SignatureVerdict(digest=DIGEST, status="verified", mode="keyless", issuer="i",
                               subject="s", cached=True)
    assert keyless.summary() == "Signature verified: keyless s (issuer i) (cached verdict)"


@pytest.mark.requirement("FR-022")
def test_policy_fingerprint_tracks_what_verification_depends_on() -> None:
    base = policy_fingerprint(["k1", "k2"], [ISSUER], "root")
    assert base == policy_fingerprint(["k2", "k1"], [ISSUER], "root")
    assert base != policy_fingerprint(["k1"], [ISSUER], "root")
    assert base != policy_fingerprint(["k1", "k2"], [], "root")
    assert base != policy_fingerprint(["k1", "k2"], [ISSUER], "other-root")
    # the trust root only matters when keyless is configured
    assert policy_fingerprint(["k1"], [], "a") == policy_fingerprint(["k1"], [], "b")


@pytest.mark.requirement("FR-021")
def test_parse_policy_names_the_bad_key() -> None:
    assert parse_policy({"enforcement": "warn", "public_keys": ["k.pub"]}).enforcement == "warn"
    with pytest.raises(ConfigError) as err:
        parse_policy({"enforcement": "warn", "trusted_issuers": [{"issuer": "i",
                                                                  "subject_regex": "("}]})
    assert "artifacts.registry.verification.trusted_issuers.0.subject_regex" in err.value.message


@pytest.mark.requirement("US5")
def test_outcome_messages() -> None:
    unsigned = SignatureVerdict(digest=DIGEST, status="unsigned")
    failed = SignatureVerdict(digest=DIGEST, status="failed", reasons=["r1", "r2"])
    assert outcome_message("refuse", unsigned) == "unsigned and enforcement enabled"
    assert outcome_message("refuse", failed) == "r1; r2"
    assert "(r1; r2)" in outcome_message("warn", failed)

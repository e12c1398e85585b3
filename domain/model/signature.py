"""Signature verification policy and verdicts (FR-004, FR-005, FR-018..FR-022, ENT-15).

Pure: no I/O. The adapters in :mod:`floe_ledger.adapters.signing` produce a
:class:`SignatureVerdict`; :func:`decide` turns it into what the promotion does next.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from floe_ledger.domain.model.errors import ConfigError

Enforcement = Literal["off", "warn", "enforce"]
Status = Literal["verified", "unsigned", "failed", "skipped"]
Mode = Literal["key", "keyless", "none"]
Decision = Literal["proceed", "warn", "refuse"]


class TrustedIssuer(BaseModel):
    """One keyless identity: the OIDC issuer and a regex the certificate SAN must match.

    The regex must match the whole SAN (``re.fullmatch``); it is compiled when
    the configuration is loaded, so a bad pattern fails early.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    subject_regex: str = Field(min_length=1)

    @field_validator("subject_regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"subject_regex is not a valid regular expression: {err}") from None
        return value

    def matches(self, issuer: str | None, sans: Sequence[str]) -> str | None:
        """Return the first SAN this identity accepts under ``issuer``, else None."""
        if issuer != self.issuer:
            return None
        pattern = re.compile(self.subject_regex)
        return next((san for san in sans if pattern.fullmatch(san)), None)


class VerificationPolicy(BaseModel):
    """The ``verification`` section of the configuration.

    Attributes:
        enforcement: ``off`` skips verification; ``warn`` verifies and warns on
            failure; ``enforce`` refuses to promote anything not verified.
        public_keys: paths of PEM SubjectPublicKeyInfo public keys (cosign.pub).
        trusted_issuers: keyless identities (OIDC issuer + SAN regex).
        check_docker_reference: a cosign simple-signing payload must name the repository
            being promoted in ``critical.identity.docker-reference`` (default true; turn it
            off only for signatures made under another name of the same repository).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enforcement: Enforcement = "off"
    public_keys: list[str] = Field(default_factory=list)
    trusted_issuers: list[TrustedIssuer] = Field(default_factory=list)
    check_docker_reference: bool = True

    @model_validator(mode="after")
    def _something_trusted(self) -> VerificationPolicy:
        if self.enforcement != "off" and not (self.public_keys or self.trusted_issuers):
            raise ValueError(
                f"verification.enforcement is {self.enforcement!r} but neither public_keys "
                "nor trusted_issuers is configured, so nothing could ever verify"
            )
        return self


class SignatureVerdict(BaseModel):
    """The outcome of verifying one digest (ENT-15).

    Attributes:
        digest: the manifest digest that was verified.
        status: ``verified``, ``unsigned`` (no signature found), ``failed``
            (signatures found, none valid) or ``skipped`` (enforcement off).
        mode: ``key``, ``keyless`` or ``none``.
        key_fingerprint: sha256 (hex) of the DER SubjectPublicKeyInfo of the key
            that verified (for keyless: of the signing certificate's key).
        certificate_fingerprint: keyless only: sha256 (hex) of the signing
            certificate's DER.
        issuer: keyless only: the OIDC issuer of the signing certificate.
        subject: keyless only: the certificate SAN that matched the policy.
        signature_ref: the signature that verified: ``<.sig manifest digest>#layers/<i>``
            for key-based, the bundle referrer manifest digest for keyless.
        cached: served from the verdict cache.
        reasons: why it is not verified (one entry per signature examined).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    digest: str
    status: Status
    mode: Mode = "none"
    key_fingerprint: str | None = None
    certificate_fingerprint: str | None = None
    issuer: str | None = None
    subject: str | None = None
    signature_ref: str | None = None
    cached: bool = False
    reasons: list[str] = Field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    def summary(self) -> str:
        """One line for humans, e.g. ``Signature verified: key 3f2a…``."""
        if self.status == "verified":
            cached = " (cached verdict)" if self.cached else ""
            return f"Signature verified: {signer(self.model_dump())}{cached}"
        if self.status == "skipped":
            return "Signature verification skipped (enforcement off)"
        if self.status == "unsigned":
            return "Artifact is unsigned"
        return "Signature verification failed: " + "; ".join(self.reasons or ["no valid signature"])


def signer(verdict: Mapping[str, Any]) -> str:
    """Who signed, the same words wherever a verdict is shown: a keyless signature's
    subject and issuer in full (its key is thrown away after one use, so its fingerprint
    names nobody), a key's fingerprint; '' when nothing verified names a signer."""
    if verdict.get("mode") == "keyless" and verdict.get("subject"):
        return f"keyless {verdict['subject']} (issuer {verdict.get('issuer') or '?'})"
    fingerprint = verdict.get("key_fingerprint")
    return f"key {str(fingerprint)[:40]}" if verdict.get("mode") == "key" and fingerprint else ""


def decide(enforcement: Enforcement, verdict: SignatureVerdict) -> Decision:
    """What a promotion does with ``verdict`` under ``enforcement`` (FR-005, FR-021, US5).

    ``off`` always proceeds; a verified digest always proceeds; otherwise
    ``warn`` proceeds with a warning and ``enforce`` refuses (nothing is tagged).
    """
    if enforcement == "off" or verdict.status == "verified":
        return "proceed"
    return "warn" if enforcement == "warn" else "refuse"


def outcome_message(decision: Decision, verdict: SignatureVerdict) -> str:
    """The short message a promotion shows for ``decision`` (no digest, US5 wording).

    ``refuse`` of an unsigned artifact reads ``unsigned and enforcement enabled``.
    """
    if verdict.status in ("verified", "skipped"):
        return verdict.summary()
    what = (
        "unsigned" if verdict.status == "unsigned"
        else "; ".join(verdict.reasons) or "no valid signature"
    )
    if decision == "refuse":
        return f"{what} and enforcement enabled" if verdict.status == "unsigned" else what
    return f"signature not verified ({what}); enforcement is warn, promoting anyway"


def parse_policy(
    raw: Mapping[str, Any], where: str = "artifacts.registry.verification"
) -> VerificationPolicy:
    """Validate the ``verification`` mapping, naming the offending key on error.

    Raises:
        ConfigError: the mapping is not a valid policy.
    """
    try:
        return VerificationPolicy.model_validate(dict(raw))
    except ValidationError as err:
        problems = [
            f"{'.'.join([where, *map(str, e['loc'])])}: {e['msg']}" for e in err.errors()
        ]
        raise ConfigError(
            "invalid signature verification settings: " + "; ".join(problems),
            hint="see verification.enforcement / public_keys / trusted_issuers",
            details={"problems": problems},
        ) from None


def refusal_message(verdict: SignatureVerdict) -> str:
    """The message of the SignatureError raised when :func:`decide` refuses (US5)."""
    if verdict.status == "unsigned":
        return f"{verdict.digest} is unsigned and enforcement enabled"
    if verdict.status == "skipped":
        return f"{verdict.digest} was not verified and enforcement enabled"
    return f"signature verification failed for {verdict.digest}: " + "; ".join(verdict.reasons)


def policy_fingerprint(
    key_fingerprints: Sequence[str], trusted_issuers: Sequence[TrustedIssuer], trust_root: str,
    docker_reference: str | None = None,
) -> str:
    """A stable hash of what a verified verdict depends on, used as the cache key.

    Args:
        key_fingerprints: SPKI fingerprints of the configured public keys (their
            content, not their paths, so a replaced key file re-verifies).
        trusted_issuers: the keyless identities.
        trust_root: a fingerprint of the Sigstore trust root ("" if keyless is off).
        docker_reference: the repository payloads must name (None: not checked), so a
            verdict cached for one repository is not served for another.
    """
    material = {
        "keys": sorted(key_fingerprints),
        "issuers": sorted([i.issuer, i.subject_regex] for i in trusted_issuers),
        "trust_root": trust_root if trusted_issuers else "",
        "docker_reference": docker_reference,
        "v": 2,
    }
    encoded = json.dumps(material, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()

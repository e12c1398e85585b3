"""Offline checks of a Fulcio certificate and a Rekor v1 signed entry timestamp (SET)
against a pinned ``trusted_root.json`` (FR-019).

This is what sigstore-python's ``Verifier`` does for a bundle, for material that is not a
bundle it accepts: cosign's ``dev.sigstore.cosign/bundle`` annotation holds an SET and no
Merkle inclusion proof, and ``sigstore.models.TransparencyLogEntry`` refuses any entry
without an inclusion proof and checkpoint (so ``Bundle.from_parts`` cannot carry it). The
steps reuse sigstore's own pieces (its trust root parser, its Rekor and CT keyrings, its SCT
check) and ``cryptography``'s X.509 path validation, exactly as sigstore configures it;
nothing here implements a signature algorithm.

``sigstore`` is imported lazily (it costs about 0.65 s): only when a keyless check runs.
The ``sigstore._internal`` names used are pinned by the lock file (sigstore 4.5.1).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.x509 import ExtendedKeyUsage, KeyUsage
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)

from floe_ledger.domain.model.errors import ConfigError

MAX_SET_BUNDLE = 64 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


class Refused(Exception):
    """The material does not verify; the message says which check failed."""


@dataclass(frozen=True)
class RekorEntry:
    """The ``Payload`` of a cosign SET bundle and its ``SignedEntryTimestamp``.

    Attributes:
        body: the base64 canonicalized entry body, exactly as the log signed it.
        integrated_time: seconds since the epoch at which Rekor integrated the entry.
        log_index: the entry's index in the log.
        log_id: hex sha256 of the log's public key (SPKI DER).
        signed_entry_timestamp: the log's signature over :meth:`canonical`.
    """

    body: str
    integrated_time: int
    log_index: int
    log_id: str
    signed_entry_timestamp: bytes

    @property
    def time(self) -> datetime:
        """The integrated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.integrated_time, UTC)

    def canonical(self) -> bytes:
        """What the SET signs: the payload as RFC 8785 JSON (sorted keys, no spaces)."""
        return bytes(rfc8785.dumps({
            "body": self.body, "integratedTime": self.integrated_time,
            "logID": self.log_id, "logIndex": self.log_index,
        }))

    def decoded_body(self) -> dict[str, Any]:
        """The entry body (a Rekor ``hashedrekord``, say) as JSON."""
        try:
            value = json.loads(base64.b64decode(self.body, validate=True))
        except (binascii.Error, ValueError):
            raise Refused("Rekor entry body is not base64 JSON") from None
        if not isinstance(value, dict):
            raise Refused("Rekor entry body is not a JSON object")
        return value


def parse_set_bundle(text: object) -> RekorEntry:
    """Read cosign's ``{"SignedEntryTimestamp": …, "Payload": {…}}`` annotation.

    Raises:
        Refused: it is missing, too large or malformed (what is wrong is named).
    """
    if not isinstance(text, str) or not text:
        raise Refused("no Rekor bundle (dev.sigstore.cosign/bundle annotation)")
    if len(text) > MAX_SET_BUNDLE:
        raise Refused("Rekor bundle annotation is too large")
    try:
        doc = json.loads(text)
        payload = doc["Payload"]
        entry = RekorEntry(
            body=payload["body"], integrated_time=payload["integratedTime"],
            log_index=payload["logIndex"], log_id=payload["logID"],
            signed_entry_timestamp=base64.b64decode(doc["SignedEntryTimestamp"], validate=True),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise Refused("Rekor bundle annotation is not a cosign SignedEntryTimestamp "
                      "bundle (SignedEntryTimestamp and Payload)") from None
    if not isinstance(entry.body, str) or not _HEX64.fullmatch(str(entry.log_id)):
        raise Refused("Rekor bundle has no body or no hex logID")
    for name, value in (("integratedTime", entry.integrated_time),
                        ("logIndex", entry.log_index)):
        if type(value) is not int or not 0 <= value < 2**53:
            raise Refused(f"Rekor bundle {name} is not a non-negative integer")
    if entry.integrated_time > 253402300799:  # 9999-12-31T23:59:59Z
        raise Refused("Rekor bundle integratedTime is out of range")
    return entry


class TrustMaterial:
    """The Fulcio CAs, Rekor keys and CT log keys of one pinned ``trusted_root.json``."""

    def __init__(self, path: Path) -> None:
        """Raises ConfigError when ``path`` is not a usable trusted root."""
        from sigstore._internal.trust import KeyringPurpose
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import TrustedRoot

        try:
            root = TrustedRoot.from_file(str(path))
            self._fulcio = root.get_fulcio_certs()
            self._rekor = root.rekor_keyring(KeyringPurpose.VERIFY)
            self._ct = root.ct_keyring(KeyringPurpose.VERIFY)
        except (SigstoreError, ValueError, OSError) as err:
            raise ConfigError(
                f"Sigstore trust root {path} cannot be used: {str(err).splitlines()[0]}",
                hint="use 'production', 'staging' or the path of a Sigstore trusted_root.json",
            ) from None

    def verify_set(self, entry: RekorEntry) -> None:
        """The SET verifies with a Rekor key of the trust root (Refused if not)."""
        from sigstore._utils import KeyID
        from sigstore.errors import VerificationError

        try:
            self._rekor.verify(key_id=KeyID(bytes.fromhex(entry.log_id)),
                               signature=entry.signed_entry_timestamp, data=entry.canonical())
        except VerificationError:
            raise Refused(f"Rekor SignedEntryTimestamp (logIndex {entry.log_index}) does not "
                          f"verify with the trust root's Rekor keys") from None

    def verify_certificate(self, cert: x509.Certificate, at: datetime) -> None:
        """``cert`` was valid at ``at`` (bounds inclusive), chains to a Fulcio CA of the
        trust root at that time, carries a valid SCT and is a code-signing leaf."""
        from sigstore._internal.sct import verify_sct
        from sigstore.errors import VerificationError

        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        if not start <= at <= end:
            raise Refused(f"certificate valid {_iso(start)} to {_iso(end)} was not valid at "
                          f"the Rekor integrated time {_iso(at)}")
        chain = self._chain(cert, at)
        try:
            verify_sct(cert, chain, self._ct)
        except VerificationError as err:
            raise Refused(f"certificate's signed certificate timestamp does not verify with "
                          f"the trust root's CT logs: {err}") from None
        _check_usage(cert)

    def _chain(self, cert: x509.Certificate, at: datetime) -> list[x509.Certificate]:
        # Fulcio leaves carry code-signing, not client-auth: allow any EKU in path building
        # (checked separately) and keep the other web-PKI extension rules, as sigstore does.
        ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
            ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
        ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
            ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
        verifier = (PolicyBuilder().store(Store(self._fulcio)).time(at)
                    .extension_policies(ca_policy=ca, ee_policy=ee).build_client_verifier())
        try:
            return list(verifier.verify(cert, []).chain[1:])
        except (x509.verification.VerificationError, x509.UnsupportedGeneralNameType) as err:
            raise Refused(f"certificate does not chain to a Fulcio CA of the trust root at "
                          f"{_iso(at)}: {err}") from None


def _check_usage(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(KeyUsage).value
        extended = cert.extensions.get_extension_for_class(ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise Refused("certificate has no key usage or extended key usage") from None
    if not usage.digital_signature or ExtendedKeyUsageOID.CODE_SIGNING not in extended:
        raise Refused("certificate is not for code signing (key usage digitalSignature, "
                      "extended key usage codeSigning)")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""Fulcio certificate identity: the OIDC issuer and SANs, and a sigstore policy over them.

Nothing here imports ``sigstore`` at module level: the policy imports its
``VerificationError`` only when it has to raise, which happens inside a
sigstore verification (so sigstore is already loaded).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat import asn1
from cryptography.x509.oid import ObjectIdentifier

from floe_ledger.domain.model.signature import TrustedIssuer

OIDC_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OIDC_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
SIGSTORE_OTHERNAME = ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


def _extension_bytes(cert: x509.Certificate, oid: ObjectIdentifier) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _der_utf8(data: bytes) -> str | None:
    try:
        return asn1.decode_der(str, data)
    except ValueError:
        return None


def certificate_issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer Fulcio recorded: the v2 extension (DER UTF8String), else v1 (raw)."""
    v2 = _extension_bytes(cert, OIDC_ISSUER_V2)
    if v2 is not None:
        return _der_utf8(v2)
    v1 = _extension_bytes(cert, OIDC_ISSUER_V1)
    return v1.decode("utf-8", "replace") if v1 is not None else None


def certificate_sans(cert: x509.Certificate) -> list[str]:
    """The identities in the SAN: URIs, e-mail addresses and Sigstore other-names."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names: list[str] = list(san.get_values_for_type(x509.UniformResourceIdentifier))
    names += san.get_values_for_type(x509.RFC822Name)
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == SIGSTORE_OTHERNAME:
            decoded = _der_utf8(other.value)
            if decoded is not None:
                names.append(decoded)
    return names


class TrustedIdentityPolicy:
    """A sigstore ``VerificationPolicy``: the certificate's issuer must equal one
    configured issuer and one SAN must fully match that entry's ``subject_regex``.

    After a successful ``verify``, :attr:`matched` holds ``(issuer, san)``.
    """

    def __init__(self, trusted: Sequence[TrustedIssuer]) -> None:
        self._trusted = tuple(trusted)
        self.matched: tuple[str, str] | None = None

    def verify(self, cert: x509.Certificate) -> None:
        """Raise sigstore's ``VerificationError`` unless ``cert`` is a trusted identity."""
        issuer, sans = certificate_issuer(cert), certificate_sans(cert)
        for entry in self._trusted:
            san = entry.matches(issuer, sans)
            if san is not None and issuer is not None:
                self.matched = (issuer, san)
                return
        from sigstore.errors import VerificationError

        raise VerificationError(
            f"certificate identity {sans} from issuer {issuer!r} matches no trusted_issuers entry"
        )

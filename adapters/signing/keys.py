"""Loading keys and the raw sign/verify primitives cosign uses for each key type.

* ECDSA (P-256, and P-384/P-521 as cosign does): DER ECDSA over SHA-256 of the payload.
* RSA: PKCS#1 v1.5 over SHA-256.
* Ed25519: pure Ed25519 over the payload bytes.

Errors never include key material or passwords.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from floe_ledger.domain.model.errors import ConfigError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

_COSIGN_ENCRYPTED = b"ENCRYPTED SIGSTORE PRIVATE KEY"


@dataclass(frozen=True)
class TrustedKey:
    """A configured public key and its fingerprint (sha256 hex of the DER SPKI)."""

    key: PublicKey
    fingerprint: str
    source: str

    def verifies(self, signature: bytes, payload: bytes) -> bool:
        """True if ``signature`` over ``payload`` verifies with this key."""
        return verify_bytes(self.key, signature, payload)


def spki_fingerprint(key: PublicKey) -> str:
    """sha256 (hex) of the DER SubjectPublicKeyInfo of ``key``."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_private_key(path: str | Path, password: str | bytes | None = None) -> PrivateKey:
    """Load a PKCS#8 (or traditional) PEM private key: ECDSA, RSA or Ed25519.

    Raises:
        ConfigError: unreadable file, wrong password, unsupported key type or a
            cosign-encrypted key. The message names the path, never the contents.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read private key {path}: {err.strerror}") from None
    if _COSIGN_ENCRYPTED in data:
        raise ConfigError(
            f"{path} is a cosign-encrypted key (scrypt + secretbox), which floe cannot read",
            hint="give floe a PKCS#8 PEM key (e.g. generated with `openssl genpkey`)",
        )
    secret = password.encode() if isinstance(password, str) else password
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(
            f"cannot load private key {path}: not a PEM private key, or the password is wrong",
            hint="pass the key's password, or check the file is a PKCS#8 PEM key",
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
                      | ed25519.Ed25519PrivateKey):
        raise ConfigError(f"unsupported private key type in {path}: use ECDSA, RSA or Ed25519")
    return key


def load_public_key(path: str | Path) -> TrustedKey:
    """Load a PEM SubjectPublicKeyInfo public key (``cosign.pub``).

    Raises:
        ConfigError: unreadable, not a PEM public key, or an unsupported type.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError(
            f"cannot read public key {path}: {err.strerror}",
            hint="check verification.public_keys in the configuration",
        ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{path} is not a PEM SubjectPublicKeyInfo public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey
                      | ed25519.Ed25519PublicKey):
        raise ConfigError(f"unsupported public key type in {path}: use ECDSA, RSA or Ed25519")
    return TrustedKey(key=key, fingerprint=spki_fingerprint(key), source=str(path))


def public_pem(key: PrivateKey) -> bytes:
    """The PEM SubjectPublicKeyInfo of ``key``'s public half."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign_bytes(key: PrivateKey, payload: bytes) -> bytes:
    """Sign ``payload`` the way cosign does for ``key``'s type."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(payload, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(payload)


def verify_bytes(key: PublicKey, signature: bytes, payload: bytes) -> bool:
    """True if ``signature`` is ``key``'s cosign-style signature over ``payload``."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.verify(signature, payload)
    except (InvalidSignature, ValueError):
        return False
    return True

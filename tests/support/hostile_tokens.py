"""Hostile OIDC ID tokens, built by hand so that any header, claim and signature can be
wrong: ``alg: none``, HS256 keyed with the issuer's public key, a header that names another
algorithm than the signature's, claims of the wrong type, and tokens that are not JWTs.

    issuer = OidcIssuer(root)               # support.oidc: RSA key + jwks.json
    token = forge(issuer, claims(), signing="hs256-public-key")
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from support.oidc import AUDIENCE, ISSUER, OidcIssuer

_OTHER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_EC = ec.generate_private_key(ec.SECP256R1())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims for the test issuer; a change of ``None`` removes the claim."""
    now = int(time.time())
    body: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "repo:acme/app:ref:main",
                            "email": "ci@acme.example", "email_verified": True,
                            "groups": ["platform"], "iat": now, "nbf": now - 5,
                            "exp": now + 300}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


# How a token is signed; only "rs256" with the issuer's own key can be accepted.
SIGNINGS = ("rs256", "none", "none-empty-signature", "hs256-public-key", "hs256-jwk",
            "rs256-other-key", "es256-header-rsa-signature", "ps256-header-rs256-signature",
            "eddsa-header", "es256-other-key", "rs256-signature-of-other-payload",
            "rs256-truncated-signature", "rs256-no-kid", "rs256-unknown-kid")


def forge(issuer: OidcIssuer, body: Any, signing: str = "rs256",
          header: dict[str, Any] | None = None) -> str:
    """A compact JWS of ``body`` (any JSON value) signed as ``signing`` says."""
    alg = {"none": "none", "none-empty-signature": "none", "hs256-public-key": "HS256",
           "hs256-jwk": "HS256", "es256-header-rsa-signature": "ES256",
           "ps256-header-rs256-signature": "PS256", "eddsa-header": "EdDSA",
           "es256-other-key": "ES256"}.get(signing, "RS256")
    head: dict[str, Any] = {"alg": alg, "typ": "JWT", "kid": "k1"}
    if signing == "rs256-no-kid":
        del head["kid"]
    if signing == "rs256-unknown-kid":
        head["kid"] = "k2"
    head.update(header or {})
    signed = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
    return f"{signed}.{_signature(issuer, signed, signing)}"


def _signature(issuer: OidcIssuer, signed: str, signing: str) -> str:
    data = signed.encode()
    public_pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if signing == "none-empty-signature":
        return ""
    if signing == "none":
        return b64(b"\x00" * 8)
    if signing == "hs256-public-key":
        return b64(hmac.new(public_pem, data, hashlib.sha256).digest())
    if signing == "hs256-jwk":
        numbers = issuer.key.public_key().public_numbers()
        return b64(hmac.new(str(numbers.n).encode(), data, hashlib.sha256).digest())
    if signing == "es256-other-key":
        return b64(_OTHER_EC.sign(data, ec.ECDSA(hashes.SHA256())))
    key = _OTHER_RSA if signing == "rs256-other-key" else issuer.key
    if signing == "rs256-signature-of-other-payload":
        data = data + b"x"
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if signing == "rs256-truncated-signature":
        signature = signature[:-7]
    return b64(signature)


def not_jwts(issuer: OidcIssuer) -> list[str]:
    """Strings that are not compact JWS tokens at all, or break base64 and JSON."""
    good = forge(issuer, claims())
    head, body, sig = good.split(".")
    return [
        "", ".", "..", "...", "a.b.c", "a.b", "a.b.c.d.e", good + ".", "." + good,
        good.replace(".", ""), head + "..", f"{head}.{body}", f"{head}.{body}.%%%%",
        f"{head}.!!!.{sig}", f"{b64(b'not json')}.{body}.{sig}", f"{b64(b'[1,2]')}.{body}.{sig}",
        f"{b64(b'null')}.{body}.{sig}", f"{head}.{b64(b'[]')}.{sig}", f"{head}.{b64(b'1')}.{sig}",
        f"{head}.{b64(b'{')}.{sig}", f"{head}.{b64(bytes(range(256)))}.{sig}",
        f"{head}.{body}.{sig}===", f"{head}=.{body}.{sig}", good + "\n", " " + good,
        good.upper(), "Bearer " + good, good[:-1], good + "A" * 100_000,
        "eyJ" * 40_000, "x" * 1_000_000, "\x1b[31m" + good, good.replace("e", "\u0435"),
        f"{b64(b'{' * 50_000 + b'}' * 50_000)}.{body}.{sig}",
        f"{b64(json.dumps({'alg': 'RS256', 'kid': 'k' * 100_000}).encode())}.{body}.{sig}",
        f"{b64(_DEEP)}.{body}.{sig}", f"{head}.{b64(_DEEP)}.{sig}",
        f"{head}.{b64(b'[' * 50_000 + b']' * 50_000)}.{sig}",
    ]


_DEEP = b'{"a":' * 50_000 + b"1" + b"}" * 50_000  # valid JSON, nested past any recursion limit

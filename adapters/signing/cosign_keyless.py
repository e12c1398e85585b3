"""Keyless cosign signatures in the ``.sig`` tag layout (cosign 2.x default; FR-018, FR-019).

``cosign sign`` without a key stores a layer on ``sha256-<hex>.sig`` like a key-based one
(see :mod:`.cosign`), with three more annotations:

* ``dev.sigstore.cosign/certificate``: the Fulcio leaf certificate (PEM);
* ``dev.sigstore.cosign/chain``: its intermediate and root (PEM). Never trusted: the chain
  is built from the pinned trust root only;
* ``dev.sigstore.cosign/bundle``: the Rekor SET bundle, ``{"SignedEntryTimestamp": …,
  "Payload": {"body", "integratedTime", "logIndex", "logID"}}``.

A layer verifies offline when, in this order: the SET verifies with a Rekor key of the
trust root; the certificate was valid at the SET's integrated time (not "now": Fulcio
certificates live ten minutes), chains to a Fulcio CA of the trust root at that time, has a
valid SCT and is a code-signing leaf; its OIDC issuer and a SAN match ``trusted_issuers``
(the policy bundles use); the ``hashedrekord`` body names the payload's sha256, this
signature and this certificate; the signature verifies over the payload with the
certificate's key; and the payload names the digest being verified (and, unless
``check_docker_reference`` is off, the repository).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from floe_ledger.adapters.signing.cosign import (
    MAX_LAYERS,
    SIGNATURE_ANNOTATION,
    SIMPLE_SIGNING,
    decode_signature,
    fetch_payload,
    payload_problem,
    signature_layers,
    signature_tag,
)
from floe_ledger.adapters.signing.identity import TrustedIdentityPolicy
from floe_ledger.adapters.signing.keys import verify_bytes
from floe_ledger.adapters.signing.oci import verified_manifest_json
from floe_ledger.adapters.signing.rekor_set import (
    Refused,
    RekorEntry,
    TrustMaterial,
    parse_set_bundle,
)
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError
from floe_ledger.domain.model.oci import sha256_digest
from floe_ledger.domain.model.signature import SignatureVerdict, Status, TrustedIssuer
from floe_ledger.domain.services.ports import Registry

CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
MAX_CERTIFICATE = 16 * 1024


class CosignKeylessVerifier:
    """Verifies the keyless layers of a digest's ``.sig`` manifest.

    Args:
        trusted_issuers: the accepted (issuer, SAN regex) pairs.
        trust_root: path of the pinned ``trusted_root.json``.
        docker_reference: the repository a payload must name (None: any).
    """

    def __init__(self, trusted_issuers: Sequence[TrustedIssuer], trust_root: Path,
                 docker_reference: str | None = None) -> None:
        self._trusted = tuple(trusted_issuers)
        self._trust_root = trust_root
        self._docker_reference = docker_reference
        self._material: TrustMaterial | None = None

    def _trust(self) -> TrustMaterial:
        if self._material is None:
            self._material = TrustMaterial(self._trust_root)
        return self._material

    def verify(self, registry: Registry, digest: str) -> SignatureVerdict:
        """``verified`` by the first valid keyless layer; ``unsigned`` when the ``.sig`` tag
        holds none; ``failed`` with one reason per keyless layer otherwise."""
        tag = signature_tag(digest)
        try:
            manifest = registry.get_manifest(tag)
            layers = signature_layers(manifest.media_type, verified_manifest_json(manifest))
        except NotFoundError:
            return _verdict(digest, "unsigned", [f"no cosign signature (tag {tag} not found)"])
        except IntegrityError as err:
            return _verdict(digest, "failed", [f"{tag}: {err.message}"])
        keyless = [(i, x) for i, x in enumerate(layers[:MAX_LAYERS]) if _is_keyless(x)]
        if not keyless:
            return _verdict(digest, "unsigned", [
                f"{tag} holds no keyless signature (no {CERTIFICATE_ANNOTATION} annotation)"])
        reasons = []
        for index, layer in keyless:
            try:
                cert, issuer, subject = self._check_layer(registry, layer, digest)
            except Refused as err:
                reasons.append(f"{tag} layer {index}: {err}")
                continue
            spki = cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            return SignatureVerdict(
                digest=digest, status="verified", mode="keyless",
                key_fingerprint=hashlib.sha256(spki).hexdigest(),
                certificate_fingerprint=hashlib.sha256(
                    cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
                issuer=issuer, subject=subject,
                signature_ref=f"{sha256_digest(manifest.data)}#layers/{index}",
            )
        return _verdict(digest, "failed", reasons)

    def _check_layer(self, registry: Registry, layer: dict[str, Any],
                     digest: str) -> tuple[x509.Certificate, str, str]:
        """The certificate and matched (issuer, subject) of a valid layer; Refused if not."""
        if layer.get("mediaType") != SIMPLE_SIGNING:
            raise Refused(f"layer media type {layer.get('mediaType')!r} is not {SIMPLE_SIGNING}")
        annotations: dict[str, Any] = layer["annotations"]
        signature = decode_signature(layer)
        if signature is None:
            raise Refused(f"missing or malformed {SIGNATURE_ANNOTATION} annotation")
        cert = _certificate(annotations.get(CERTIFICATE_ANNOTATION))
        entry = parse_set_bundle(annotations.get(BUNDLE_ANNOTATION))
        payload, reason = fetch_payload(registry, layer)
        if payload is None:
            raise Refused(reason)
        trust = self._trust()
        trust.verify_set(entry)
        trust.verify_certificate(cert, entry.time)
        issuer, subject = self._identity(cert)
        _check_entry_body(entry, payload, signature, cert)
        if not verify_bytes(_signing_key(cert), signature, payload):
            raise Refused("signature does not verify over the payload with the "
                          "certificate's key")
        problem = payload_problem(payload, digest, self._docker_reference)
        if problem:
            raise Refused(problem)
        return cert, issuer, subject

    def _identity(self, cert: x509.Certificate) -> tuple[str, str]:
        """The issuer and SAN that ``trusted_issuers`` accepts (the policy bundles use)."""
        from sigstore.errors import VerificationError

        policy = TrustedIdentityPolicy(self._trusted)
        try:
            policy.verify(cert)
        except VerificationError as err:
            raise Refused(str(err)) from None
        assert policy.matched is not None  # verify returns only after a match
        return policy.matched


def _is_keyless(layer: dict[str, Any]) -> bool:
    annotations = layer.get("annotations")
    return isinstance(annotations, dict) and CERTIFICATE_ANNOTATION in annotations


def _verdict(digest: str, status: Status, reasons: list[str]) -> SignatureVerdict:
    return SignatureVerdict(digest=digest, status=status, mode="keyless", reasons=reasons)


def _certificate(pem: object) -> x509.Certificate:
    if not isinstance(pem, str) or not pem or len(pem) > MAX_CERTIFICATE:
        raise Refused(f"{CERTIFICATE_ANNOTATION} annotation is empty or too large")
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise Refused(f"{CERTIFICATE_ANNOTATION} annotation is not a PEM certificate") from None


def _signing_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey | (
        ed25519.Ed25519PublicKey):
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return key
    raise Refused(f"certificate key type {type(key).__name__} is not supported")


def _check_entry_body(entry: RekorEntry, payload: bytes, signature: bytes,
                      cert: x509.Certificate) -> None:
    """The logged ``hashedrekord`` is this payload's hash, this signature and this
    certificate: otherwise the SET vouches for some other signature."""
    body = entry.decoded_body()
    if (body.get("kind"), body.get("apiVersion")) != ("hashedrekord", "0.0.1"):
        raise Refused(f"Rekor entry is {body.get('kind')!r} {body.get('apiVersion')!r}, "
                      f"not hashedrekord 0.0.1")
    try:
        spec = body["spec"]
        logged_hash = spec["data"]["hash"]
        logged_signature = base64.b64decode(spec["signature"]["content"], validate=True)
        logged_cert = x509.load_pem_x509_certificate(
            base64.b64decode(spec["signature"]["publicKey"]["content"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise Refused("Rekor hashedrekord entry is malformed") from None
    actual = hashlib.sha256(payload).hexdigest()
    if logged_hash != {"algorithm": "sha256", "value": actual}:
        shown = (f"{logged_hash.get('algorithm')}:{logged_hash.get('value')}"
                 if isinstance(logged_hash, dict) else repr(logged_hash))
        raise Refused(f"Rekor entry logs hash {shown}, not the payload's sha256:{actual}")
    if logged_signature != signature:
        raise Refused("Rekor entry logs another signature than the layer's")
    if logged_cert != cert:
        raise Refused("Rekor entry logs another certificate than the layer's")

"""Keyless (Sigstore bundle) signatures stored as OCI 1.1 referrers (FR-018, FR-019).

A bundle is a referrer of the artifact with ``artifactType``
``application/vnd.dev.sigstore.bundle.v0.3+json`` whose single layer is the bundle
JSON. Two bundle shapes verify:

* a DSSE in-toto statement whose ``subject[].digest.sha256`` is the manifest
  digest (checked here: sigstore does not);
* a message signature over the artifact's single layer blob (what
  ``cosign sign-blob --bundle`` gives for a file pushed as a one-layer artifact).
  The layer is identified by its digest in the (digest-checked) manifest, so the
  blob itself need not be downloaded.

Verification is offline against a pinned trust root. ``sigstore`` is imported
lazily (it costs about 0.65 s), only when a keyless check actually runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from floe_ledger.adapters.signing.identity import TrustedIdentityPolicy
from floe_ledger.adapters.signing.oci import (
    EMPTY_CONFIG,
    EMPTY_DESCRIPTOR,
    descriptor,
    layers_of,
    manifest_of,
    verified_manifest_json,
)
from floe_ledger.domain.model.errors import IntegrityError, NotFoundError, UsageError
from floe_ledger.domain.model.oci import OCI_MANIFEST, Descriptor, ordered_json
from floe_ledger.domain.model.signature import SignatureVerdict, TrustedIssuer
from floe_ledger.domain.model.values import check_digest
from floe_ledger.domain.services.ports import Registry

if TYPE_CHECKING:
    from sigstore.hashes import Hashed
    from sigstore.verify import Verifier

BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO = "application/vnd.in-toto+json"
MAX_REFERRERS = 16
MAX_BUNDLE = 1024 * 1024


class _Rejected(Exception):
    """A bundle referrer that does not vouch for the digest (becomes a reason)."""


def attach_bundle(registry: Registry, subject_digest: str, bundle_json: bytes) -> str:
    """Store a Sigstore bundle as a referrer of ``subject_digest``; return its digest.

    Raises:
        UsageError: ``bundle_json`` is not a Sigstore bundle.
        NotFoundError: ``subject_digest`` is not in the repository.
    """
    kind = _bundle_kind(bundle_json)
    if kind is None:
        raise UsageError("not a Sigstore bundle (no mediaType application/vnd.dev.sigstore…)")
    subject = registry.resolve(check_digest(subject_digest))
    if subject is None:
        raise NotFoundError(f"{subject_digest} is not in {registry.uri}")
    registry.put_blob(EMPTY_CONFIG, EMPTY_DESCRIPTOR["mediaType"])
    registry.put_blob(bundle_json, BUNDLE_TYPE)
    body = ordered_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_TYPE,
        "config": EMPTY_DESCRIPTOR,
        "layers": [descriptor(BUNDLE_TYPE, bundle_json)],
        "subject": {"mediaType": subject.media_type, "size": subject.size,
                    "digest": subject.digest},
        "annotations": {"dev.sigstore.bundle.content": kind},
    })
    manifest = manifest_of(body, OCI_MANIFEST)
    registry.attach_referrer(subject.digest, manifest, BUNDLE_TYPE)
    return manifest.digest


def _bundle_kind(data: bytes) -> str | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    if not str(value.get("mediaType", "")).startswith("application/vnd.dev.sigstore.bundle"):
        return None
    return "dsse-envelope" if "dsseEnvelope" in value else "message-signature"


def load_sigstore_verifier(trust_root: Path) -> Verifier:
    """A sigstore ``Verifier`` pinned to ``trust_root`` (imports sigstore)."""
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier

    return Verifier(trusted_root=TrustedRoot.from_file(str(trust_root)))


class KeylessVerifier:
    """Verifies Sigstore bundle referrers of a digest against trusted identities.

    Args:
        trusted_issuers: the accepted (issuer, SAN regex) pairs.
        trust_root: path of the pinned ``trusted_root.json``.
    """

    def __init__(self, trusted_issuers: Sequence[TrustedIssuer], trust_root: Path) -> None:
        self._trusted = tuple(trusted_issuers)
        self._trust_root = trust_root
        self._verifier: Verifier | None = None

    def _sigstore(self) -> Verifier:
        if self._verifier is None:
            self._verifier = load_sigstore_verifier(self._trust_root)
        return self._verifier

    def verify(self, registry: Registry, digest: str) -> SignatureVerdict:
        """Verify ``digest``'s bundle referrers; the first valid one wins."""
        referrers = registry.referrers(digest, BUNDLE_TYPE)[:MAX_REFERRERS]
        if not referrers:
            return SignatureVerdict(digest=digest, status="unsigned", mode="keyless",
                           reasons=["no Sigstore bundle referrer"])
        reasons = []
        for ref in referrers:
            verdict, reason = self._try_referrer(registry, digest, ref)
            if verdict is not None:
                return verdict
            reasons.append(f"bundle {ref.digest}: {reason}")
        return SignatureVerdict(digest=digest, status="failed", mode="keyless", reasons=reasons)

    def _try_referrer(
        self, registry: Registry, digest: str, ref: Descriptor
    ) -> tuple[SignatureVerdict | None, str]:
        from sigstore.errors import Error as SigstoreError

        try:
            bundle_json = _fetch_bundle(registry, digest, ref)
            policy = TrustedIdentityPolicy(self._trusted)
            cert = self._verify_bundle(registry, digest, bundle_json, policy)
        except (IntegrityError, NotFoundError) as err:
            return None, err.message
        except (_Rejected, SigstoreError, ValueError, KeyError, TypeError) as err:
            return None, str(err) or type(err).__name__
        if policy.matched is None:  # pragma: no cover - sigstore always runs the policy
            return None, "identity policy was not evaluated"
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return SignatureVerdict(
            digest=digest, status="verified", mode="keyless",
            key_fingerprint=hashlib.sha256(spki).hexdigest(),
            certificate_fingerprint=hashlib.sha256(
                cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
            issuer=policy.matched[0], subject=policy.matched[1], signature_ref=ref.digest,
        ), ""

    def _verify_bundle(
        self, registry: Registry, digest: str, bundle_json: bytes, policy: TrustedIdentityPolicy
    ) -> x509.Certificate:
        """Verify one bundle for ``digest``; return its signing certificate."""
        from sigstore.models import Bundle

        bundle = Bundle.from_json(bundle_json)
        if _bundle_kind(bundle_json) == "dsse-envelope":
            payload_type, payload = self._sigstore().verify_dsse(bundle, policy)
            _check_statement(payload_type, payload, digest)
        else:
            self._sigstore().verify_artifact(_single_layer_hash(registry, digest), bundle, policy)
        cert: x509.Certificate = bundle.signing_certificate
        return cert


def _fetch_bundle(registry: Registry, digest: str, ref: Descriptor) -> bytes:
    stored = registry.get_manifest(ref.digest)
    if stored.digest != ref.digest:
        raise _Rejected(f"registry returned manifest {stored.digest} for {ref.digest}")
    manifest = verified_manifest_json(stored)
    subject = manifest.get("subject")
    if not isinstance(subject, dict) or subject.get("digest") != digest:
        raise _Rejected(f"referrer's subject is not {digest}")
    layers = [x for x in layers_of(manifest) if x.get("mediaType") == BUNDLE_TYPE]
    if len(layers) != 1 or not isinstance(layers[0].get("digest"), str):
        raise _Rejected(f"referrer does not hold exactly one {BUNDLE_TYPE} layer")
    if not isinstance(layers[0].get("size"), int) or layers[0]["size"] > MAX_BUNDLE:
        raise _Rejected("bundle layer has no size or is too large")
    return registry.get_blob(layers[0]["digest"])


def _check_statement(payload_type: str, payload: bytes, digest: str) -> None:
    """Reject unless the in-toto statement names ``digest`` as one of its subjects."""
    if payload_type != IN_TOTO:
        raise _Rejected(f"DSSE payload type {payload_type!r} is not {IN_TOTO}")
    statement = json.loads(payload)
    subjects = statement.get("subject") if isinstance(statement, dict) else None
    for subject in subjects if isinstance(subjects, list) else []:
        digests = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digests, dict) and f"sha256:{digests.get('sha256')}" == digest:
            return
    raise _Rejected(f"in-toto statement subject does not name {digest}")


def _single_layer_hash(registry: Registry, digest: str) -> Hashed:
    """The sigstore ``Hashed`` of the artifact's only layer, taken from its manifest."""
    from sigstore.hashes import Hashed
    from sigstore_models.common.v1 import HashAlgorithm

    stored = registry.get_manifest(digest)
    if stored.digest != digest:
        raise _Rejected(f"registry returned manifest {stored.digest} for {digest}")
    layers = layers_of(verified_manifest_json(stored))
    if len(layers) != 1:
        raise _Rejected(f"a message-signature bundle needs a one-layer artifact, "
                        f"this one has {len(layers)} layers")
    layer_digest = str(layers[0].get("digest", ""))
    if not layer_digest.startswith("sha256:"):
        raise _Rejected(f"layer digest {layer_digest!r} is not sha256")
    return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(layer_digest[7:]))

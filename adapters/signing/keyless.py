"""Keyless (Sigstore bundle) signatures stored as OCI 1.1 referrers (FR-018, FR-019).

A bundle is a referrer of the artifact with ``artifactType``
``application/vnd.dev.sigstore.bundle.v0.3+json`` whose first layer is the bundle
JSON. What is signed must name the manifest digest being verified (FR-004: the
manifest binds config, ``artifactType``, annotations and every layer); two bundle
shapes verify:

* a DSSE in-toto statement whose ``subject[].digest.sha256`` is the manifest
  digest (checked here: sigstore does not);
* a message signature over a cosign simple-signing payload whose
  ``critical.image.docker-manifest-digest`` is the manifest digest (``cosign sign-blob
  --bundle`` over that payload); the payload is a second layer of the referrer, media type
  ``application/vnd.dev.cosign.simplesigning.v1+json``.

A message signature over anything else (a layer blob, a file) is refused: it signs bytes
the manifest merely points at, so the manifest's type, annotations and titles are unsigned.

Verification is offline against a pinned trust root. ``sigstore`` is imported
lazily (it costs about 0.65 s), only when a keyless check actually runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from floe_ledger.adapters.signing.cosign import SIMPLE_SIGNING, payload_problem
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
    from sigstore.verify import Verifier

BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO = "application/vnd.in-toto+json"
MAX_REFERRERS = 16
MAX_BUNDLE = 1024 * 1024
MAX_PAYLOAD = 64 * 1024


class _Rejected(Exception):
    """A bundle referrer that does not vouch for the digest (becomes a reason)."""


def attach_bundle(registry: Registry, subject_digest: str, bundle_json: bytes,
                  payload: bytes | None = None) -> str:
    """Store a Sigstore bundle as a referrer of ``subject_digest``; return its digest.

    Args:
        payload: for a message-signature bundle, the simple-signing payload it signs
            (stored as the referrer's second layer).

    Raises:
        UsageError: ``bundle_json`` is not a Sigstore bundle, or a payload comes with a
            DSSE bundle.
        NotFoundError: ``subject_digest`` is not in the repository.
    """
    kind = _bundle_kind(bundle_json)
    if kind is None:
        raise UsageError("not a Sigstore bundle (no mediaType application/vnd.dev.sigstore…)")
    if payload is not None and kind != "message-signature":
        raise UsageError("a DSSE bundle carries its own statement; --payload is for "
                         "message-signature bundles")
    subject = registry.resolve(check_digest(subject_digest))
    if subject is None:
        raise NotFoundError(f"{subject_digest} is not in {registry.uri}")
    registry.put_blob(EMPTY_CONFIG, EMPTY_DESCRIPTOR["mediaType"])
    registry.put_blob(bundle_json, BUNDLE_TYPE)
    layers = [descriptor(BUNDLE_TYPE, bundle_json)]
    if payload is not None:
        registry.put_blob(payload, SIMPLE_SIGNING)
        layers.append(descriptor(SIMPLE_SIGNING, payload))
    body = ordered_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_TYPE,
        "config": EMPTY_DESCRIPTOR,
        "layers": layers,
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
        docker_reference: the repository a simple-signing payload must name (None: any).
    """

    def __init__(self, trusted_issuers: Sequence[TrustedIssuer], trust_root: Path,
                 docker_reference: str | None = None) -> None:
        self._trusted = tuple(trusted_issuers)
        self._trust_root = trust_root
        self._docker_reference = docker_reference
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
            bundle_json, payload = _fetch_bundle(registry, digest, ref)
            policy = TrustedIdentityPolicy(self._trusted)
            cert = self._verify_bundle(registry, digest, bundle_json, payload, policy)
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
        self, registry: Registry, digest: str, bundle_json: bytes, payload: bytes | None,
        policy: TrustedIdentityPolicy,
    ) -> x509.Certificate:
        """Verify one bundle for ``digest``; return its signing certificate."""
        from sigstore.models import Bundle

        if _bundle_kind(bundle_json) == "dsse-envelope":
            bundle = Bundle.from_json(bundle_json)
            payload_type, statement = self._sigstore().verify_dsse(bundle, policy)
            _check_statement(payload_type, statement, digest)
        else:
            if payload is None:
                raise _Rejected(_unbound_message(registry, digest, bundle_json))
            bundle = Bundle.from_json(bundle_json)
            self._sigstore().verify_artifact(payload, bundle, policy)
            problem = payload_problem(payload, digest, self._docker_reference)
            if problem:
                raise _Rejected(f"the bundle signs a payload that does not vouch for "
                                f"{digest}: {problem}")
        cert: x509.Certificate = bundle.signing_certificate
        return cert


def _fetch_bundle(registry: Registry, digest: str, ref: Descriptor) -> tuple[bytes, bytes | None]:
    """The bundle JSON and, if the referrer carries one, the simple-signing payload."""
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
    bundle = registry.get_blob(layers[0]["digest"])
    payloads = [x for x in layers_of(manifest) if x.get("mediaType") == SIMPLE_SIGNING]
    if not payloads:
        return bundle, None
    if len(payloads) != 1 or not isinstance(payloads[0].get("digest"), str):
        raise _Rejected(f"referrer holds more than one {SIMPLE_SIGNING} layer")
    if not isinstance(payloads[0].get("size"), int) or payloads[0]["size"] > MAX_PAYLOAD:
        raise _Rejected("payload layer has no size or is too large")
    return bundle, registry.get_blob(payloads[0]["digest"])


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
    named = [f"sha256:{d['sha256']}" for d in (
        s.get("digest") for s in (subjects if isinstance(subjects, list) else [])
        if isinstance(s, dict)) if isinstance(d, dict) and isinstance(d.get("sha256"), str)]
    raise _Rejected(f"in-toto statement names {', '.join(named) or 'no sha256 subject'}, "
                    f"not manifest {digest}")


def _unbound_message(registry: Registry, digest: str, bundle_json: bytes) -> str:
    """Why a message signature with no simple-signing payload cannot vouch for ``digest``:
    what it signed (a layer blob of the artifact, or some other blob) and what was expected."""
    signed = _signed_message_digest(bundle_json)
    what = f"blob {signed}" if signed else "a blob"
    try:
        stored = registry.get_manifest(digest)
        layers = layers_of(verified_manifest_json(stored)) if stored.digest == digest else []
    except (IntegrityError, NotFoundError):
        layers = []
    titles = {str(x.get("digest")): str((x.get("annotations") or {}).get(
        "org.opencontainers.image.title", "")) for x in layers if isinstance(x, dict)}
    if signed in titles:
        title = titles[signed]
        what = f"layer blob {signed}{f' ({title})' if title else ''} of the artifact"
    return (f"message signature over {what}, not over manifest {digest}: the artifact type, "
            f"annotations and file names are unsigned; expected a DSSE in-toto statement "
            f"whose subject is {digest}, or a cosign simple-signing payload (attached with "
            f"the bundle) whose critical.image.docker-manifest-digest is {digest}")


def _signed_message_digest(bundle_json: bytes) -> str:
    """``sha256:<hex>`` of the message a message-signature bundle says it signs ("" if unknown)."""
    try:
        signed = json.loads(bundle_json)["messageSignature"]["messageDigest"]
        if str(signed.get("algorithm", "")).upper() != "SHA2_256":
            return ""
        return "sha256:" + base64.b64decode(signed["digest"], validate=True).hex()
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return ""

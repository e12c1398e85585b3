"""Signed checkpoints: the ledger's stream heads, signed, to verify offline later.

An unkeyed hash chain cannot reveal that its newest events were deleted; a
checkpoint kept outside the ledger (CI artifact, ticket, git) can::

    doc = sign_checkpoint(report.heads(), key_pem, events=report.events, ledger="sqlite:///…")
    anchors = verify_checkpoint(doc, public_pem)      # raises IntegrityError if altered

The signed bytes are the RFC 8785 canonical JSON of ``payload``. Keys are PKCS#8 PEM,
Ed25519 or ECDSA (signed with SHA-256); an encrypted key takes its password from
the caller.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from floe_ledger.adapters.signing.keys import spki_fingerprint
from floe_ledger.adapters.system.files import write_private
from floe_ledger.domain.model.errors import IntegrityError, UsageError
from floe_ledger.projections.audit import Anchor

SCHEMA = "dev.floe.checkpoint.v1"
CheckpointPrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
CheckpointPublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def checkpoint_private_key(pem: bytes, password: bytes | None = None) -> CheckpointPrivateKey:
    """An Ed25519 or ECDSA private key from PEM; UsageError for anything else."""
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except (ValueError, TypeError) as err:
        raise UsageError(f"cannot read the checkpoint key: {err}",
                         hint="give a PKCS#8 PEM Ed25519 or ECDSA private key (set "
                         "FLOE_CHECKPOINT_KEY_PASSWORD if it is encrypted)") from err
    if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey)):
        raise UsageError(f"checkpoint keys must be Ed25519 or ECDSA, not {type(key).__name__}",
                         hint="openssl genpkey -algorithm ed25519 -out checkpoint.pem")
    return key


def checkpoint_public_key(pem: bytes) -> CheckpointPublicKey:
    """An Ed25519 or ECDSA public key from PEM; UsageError for anything else."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as err:
        raise UsageError(f"cannot read the public key: {err}",
                         hint="give the PEM public key of the checkpoint signing key") from err
    if not isinstance(key, (ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey)):
        raise UsageError(f"checkpoint keys must be Ed25519 or ECDSA, not {type(key).__name__}",
                         hint="openssl pkey -in checkpoint.pem -pubout")
    return key


def sign_checkpoint(heads: dict[str, dict[str, Any]], key_pem: bytes, *, events: int,
                    ledger: str, created: datetime | None = None,
                    password: bytes | None = None) -> dict[str, Any]:
    """A checkpoint document signing ``heads`` (``{artifact_id: {version, hash, ...}}``).

    Args:
        heads: every stream's head, from a verified chain.
        key_pem: the PKCS#8 PEM private key.
        events: how many events the verified ledger held.
        ledger: where the ledger is (display form, no secrets).
        created: the checkpoint time (now by default).
        password: the key's password, if it is encrypted.
    """
    key = checkpoint_private_key(key_pem, password)
    payload: dict[str, Any] = {
        "schema": SCHEMA,
        "created_at": (created or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "ledger": ledger,
        "events": events,
        "heads": {aid: {"version": int(h["version"]), "hash": str(h["hash"]),
                        "repository": str(h.get("repository", ""))}
                  for aid, h in sorted(heads.items())},
    }
    data = rfc8785.dumps(payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm, signature = "ed25519", key.sign(data)
    else:
        algorithm, signature = "ecdsa-sha256", key.sign(data, ec.ECDSA(hashes.SHA256()))
    return {"payload": payload, "signature": {
        "algorithm": algorithm, "key_id": spki_fingerprint(key.public_key()),
        "value": base64.b64encode(signature).decode("ascii")}}


def verify_checkpoint(doc: dict[str, Any], public_pem: bytes) -> list[Anchor]:
    """The anchors a checkpoint signed, after checking its signature.

    Raises:
        IntegrityError: the document was altered, or signed by another key.
        UsageError: it is not a checkpoint, or the key cannot be read.
    """
    public = checkpoint_public_key(public_pem)
    payload, sig = doc.get("payload"), doc.get("signature")
    if not isinstance(payload, dict) or not isinstance(sig, dict) or \
            payload.get("schema") != SCHEMA:
        raise UsageError("not a floe checkpoint", hint="create one with 'floe audit checkpoint'")
    given = spki_fingerprint(public)
    if sig.get("key_id") != given:
        raise IntegrityError("the checkpoint was signed by another key",
                             hint="verify with the public key of the key that signed it",
                             details={"key_id": sig.get("key_id"), "given": given})
    try:
        value = base64.b64decode(str(sig.get("value", "")), validate=True)
        data = rfc8785.dumps(payload)
        if isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(value, data)
        else:
            public.verify(value, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as err:
        raise IntegrityError("the checkpoint's signature does not verify: it was altered",
                             hint="use the checkpoint file as it was written") from err
    source = f"checkpoint of {payload.get('created_at')}"
    return [Anchor(aid, int(h["version"]), str(h["hash"]), source)
            for aid, h in payload.get("heads", {}).items()]


def write_checkpoint(doc: dict[str, Any], path: Path) -> None:
    """Write a checkpoint document as indented JSON, mode 0600 (parent folders created)."""
    write_private(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint document from a JSON file; UsageError if it cannot be read."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read checkpoint {path}: {err}",
                         hint="give the JSON file 'floe audit checkpoint' wrote") from err
    if not isinstance(doc, dict):
        raise UsageError(f"{path} is not a checkpoint", hint="give a checkpoint JSON file")
    return doc

"""Signed checkpoints: signed heads verify offline; any change to them does not."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from floe_ledger.adapters.audit.checkpoint import sign_checkpoint, verify_checkpoint
from floe_ledger.domain.model.errors import IntegrityError, UsageError
from floe_ledger.projections.audit import Anchor

pytestmark = pytest.mark.requirement("FR-026")

HEADS = {"5b1c0b9e-1111-5222-8333-444455556666": {"version": 26, "hash": "ab" * 32,
                                                  "repository": "oci://r/acme/app"}}


def _pem(key: Any, password: bytes | None = None) -> tuple[bytes, bytes]:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                encryption)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.mark.parametrize("make", [ed25519.Ed25519PrivateKey.generate,
                                  lambda: ec.generate_private_key(ec.SECP256R1())],
                         ids=["ed25519", "ecdsa-p256"])
def test_a_signed_checkpoint_verifies_offline_into_anchors(make: Any) -> None:
    private, public = _pem(make())
    doc = sign_checkpoint(HEADS, private, events=26, ledger="sqlite:///x",
                          created=datetime(2026, 11, 2, tzinfo=UTC))
    anchors = verify_checkpoint(doc, public)
    assert anchors == [Anchor("5b1c0b9e-1111-5222-8333-444455556666", 26, "ab" * 32,
                              "checkpoint of 2026-11-02T00:00:00+00:00")]


def test_changing_a_signed_head_breaks_the_signature() -> None:
    private, public = _pem(ed25519.Ed25519PrivateKey.generate())
    doc = sign_checkpoint(HEADS, private, events=26, ledger="sqlite:///x")
    forged = copy.deepcopy(doc)
    next(iter(forged["payload"]["heads"].values()))["version"] = 20
    with pytest.raises(IntegrityError, match="does not verify"):
        verify_checkpoint(forged, public)


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    private, _ = _pem(ed25519.Ed25519PrivateKey.generate())
    _, other_public = _pem(ed25519.Ed25519PrivateKey.generate())
    doc = sign_checkpoint(HEADS, private, events=26, ledger="sqlite:///x")
    with pytest.raises(IntegrityError, match="another key"):
        verify_checkpoint(doc, other_public)


def test_an_encrypted_key_needs_its_password() -> None:
    private, public = _pem(ec.generate_private_key(ec.SECP256R1()), b"s3cret")
    with pytest.raises(UsageError, match="cannot read"):
        sign_checkpoint(HEADS, private, events=1, ledger="x")
    doc = sign_checkpoint(HEADS, private, events=1, ledger="x", password=b"s3cret")
    assert verify_checkpoint(doc, public)


def test_rsa_keys_are_not_checkpoint_keys() -> None:
    private, _ = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(UsageError, match="Ed25519 or ECDSA"):
        sign_checkpoint(HEADS, private, events=1, ledger="x")


def test_something_else_is_not_a_checkpoint() -> None:
    _, public = _pem(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(UsageError, match="not a floe checkpoint"):
        verify_checkpoint({"payload": {"schema": "other"}, "signature": {}}, public)

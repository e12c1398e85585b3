"""What one command may take from what it already read or wrote, and what it must ask again
(domain/services/command_reads.py, issue 15 item 1)."""

from __future__ import annotations

import json

import pytest

from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest, sha256_digest
from floe_ledger.domain.services.command_reads import CommandReads
from support.memory_registry import MemoryRegistry, compact

pytestmark = pytest.mark.requirement("FR-023", "FR-025a")

RECORD_TYPE = "application/vnd.floe.promotion.v1+json"


def _referrer(registry: MemoryRegistry, subject: Manifest, n: int) -> Manifest:
    layer = f"record {n}".encode()
    registry.put_blob(layer)
    body = compact({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": RECORD_TYPE,
                    "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                               "digest": sha256_digest(b"{}"), "size": 2},
                    "layers": [{"mediaType": RECORD_TYPE, "digest": sha256_digest(layer),
                                "size": len(layer)}],
                    "subject": {"mediaType": OCI_MANIFEST, "digest": subject.digest,
                                "size": len(subject.data)}})
    return Manifest(sha256_digest(body), OCI_MANIFEST, body)


def test_what_a_digest_names_is_read_once_and_a_tag_every_time() -> None:
    inner = MemoryRegistry()
    pushed = inner.push_artifact([b"platform: v1"], tag="v1.0.0-dev")
    reads = CommandReads(inner, fetch=["v1.0.0-dev"])
    inner.calls.clear()

    assert reads.resolve("v1.0.0-dev") == pushed.descriptor  # fetched: read with its bytes
    assert reads.get_manifest(pushed.digest) == pushed
    assert reads.resolve(pushed.digest) == pushed.descriptor
    assert reads.resolve("v1.0.0-dev") == pushed.descriptor

    assert inner.calls == {"get_manifest": 2}  # the tag twice (tags move), the digest never


def test_blobs_a_manifest_names_are_not_uploaded_again() -> None:
    inner = MemoryRegistry()
    pushed = inner.push_artifact([b"platform: v1"], tag="v1.0.0-dev")
    reads = CommandReads(inner)
    reads.get_manifest("v1.0.0-dev")
    inner.calls.clear()

    reads.put_blob(b"{}")  # the artifact's config: the registry has it
    reads.put_blob(b"platform: v1")
    reads.put_blob(b"new layer")
    reads.put_blob(b"new layer")

    assert inner.calls == {"put_blob": 1}
    assert json.loads(pushed.data)["config"]["digest"] == sha256_digest(b"{}")


def test_referrers_are_listed_once_and_again_after_the_command_attached_one() -> None:
    inner = MemoryRegistry()
    subject = inner.push_artifact([b"platform: v1"], tag="v1.0.0-dev")
    reads = CommandReads(inner)
    first = _referrer(inner, subject, 1)
    inner.attach_referrer(subject.digest, first, RECORD_TYPE)
    inner.calls.clear()

    assert [d.digest for d in reads.referrers(subject.digest)] == [first.digest]
    assert [d.digest for d in reads.referrers(subject.digest, RECORD_TYPE)] == [first.digest]
    assert reads.referrers(subject.digest, "application/other") == []
    assert inner.calls == {"referrers": 1}

    second = _referrer(inner, subject, 2)
    reads.attach_referrer(subject.digest, second, RECORD_TYPE)

    assert [d.digest for d in reads.referrers(subject.digest)] == [first.digest, second.digest]
    assert inner.calls["referrers"] == 2
    assert reads.resolve(second.digest) == second.descriptor  # stored: not asked
    assert inner.calls["resolve"] == 0

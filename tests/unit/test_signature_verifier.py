"""SignatureVerifier: enforcement, combining modes, caching, and lazy sigstore import."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from floe_ledger.adapters.signing.cache import (
    MemoryVerdictCache,
    SqliteVerdictCache,
    cache_key_path,
    row_mac,
)
from floe_ledger.adapters.signing.cosign import sign
from floe_ledger.adapters.signing.keyless import attach_bundle
from floe_ledger.adapters.signing.verifier import SignatureVerifier
from floe_ledger.adapters.system.secrets import load_or_create_key
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.signature import SignatureVerdict, TrustedIssuer, VerificationPolicy
from support.cosign_reference import write_key_pair
from support.memory_registry import MemoryRegistry

TESTS = Path(__file__).resolve().parents[1]
DATA = TESTS / "data" / "sigstore"
GITHUB = "https://token.actions.githubusercontent.com"
RELEASE = TrustedIssuer(issuer=GITHUB, subject_regex=r"https://github\.com/trailofbits/.*")
KEY = bytes(range(32))


@pytest.fixture
def registry() -> MemoryRegistry:
    return MemoryRegistry()


@pytest.fixture
def signed(tmp_path: Path, registry: MemoryRegistry) -> tuple[str, Path]:
    """A signed artifact's digest and the public key that verifies it."""
    private, public, _ = write_key_pair(tmp_path)
    digest = registry.push_artifact([b"payload"], tag="v1.0.0-dev").digest
    sign(registry, digest, private, "registry.test/floe/app")
    return digest, public


def _policy(public: Path | None = None, enforcement: str = "enforce",
            issuers: list[TrustedIssuer] | None = None) -> VerificationPolicy:
    return VerificationPolicy.model_validate({
        "enforcement": enforcement,
        "public_keys": [str(public)] if public else [],
        "trusted_issuers": [i.model_dump() for i in issuers or []],
    })


@pytest.mark.requirement("FR-004", "FR-021", "US5")
def test_enforcement_off_skips_without_touching_the_registry(registry: MemoryRegistry) -> None:
    verdict = SignatureVerifier(VerificationPolicy()).verify(registry, "sha256:" + "0" * 64)
    assert verdict.status == "skipped" and verdict.mode == "none"
    assert sum(registry.calls.values()) == 0


@pytest.mark.requirement("FR-004", "FR-020")
@pytest.mark.parametrize("enforcement", ["warn", "enforce"])
def test_key_based_verifies(registry: MemoryRegistry, signed: tuple[str, Path],
                            enforcement: str) -> None:
    digest, public = signed
    verdict = SignatureVerifier(_policy(public, enforcement)).verify(registry, digest)
    assert verdict.status == "verified" and verdict.mode == "key" and not verdict.cached


@pytest.mark.requirement("US5")
def test_unsigned_when_no_mode_finds_anything(tmp_path: Path, registry: MemoryRegistry) -> None:
    _, public, _ = write_key_pair(tmp_path)
    digest = registry.push_artifact([b"nothing signed"]).digest
    verdict = SignatureVerifier(_policy(public, issuers=[RELEASE])).verify(registry, digest)
    assert verdict.status == "unsigned" and verdict.mode == "none"
    assert len(verdict.reasons) == 2


@pytest.mark.requirement("FR-018")
def test_failed_when_a_signature_is_found_but_invalid(tmp_path: Path, registry: MemoryRegistry,
                                                      signed: tuple[str, Path]) -> None:
    digest, _ = signed
    _, other, _ = write_key_pair(tmp_path, name="other")
    verdict = SignatureVerifier(_policy(other, issuers=[RELEASE])).verify(registry, digest)
    assert verdict.status == "failed" and verdict.mode == "key"
    assert any("does not match any configured key" in r for r in verdict.reasons)


@pytest.mark.requirement("FR-018", "FR-019", "FR-020")
def test_keyless_is_tried_when_no_key_verifies(tmp_path: Path, registry: MemoryRegistry) -> None:
    _, public, _ = write_key_pair(tmp_path)
    artifact = registry.push_artifact([(DATA / "rfc8785-0.1.2-py3-none-any.whl").read_bytes()])
    attach_bundle(registry, artifact.digest,
                  (DATA / "rfc8785-0.1.2-py3-none-any.whl.sigstore.json").read_bytes())
    verdict = SignatureVerifier(_policy(public, issuers=[RELEASE])).verify(registry,
                                                                          artifact.digest)
    # keyless ran (the key found no .sig): its bundle signs the layer blob, not the manifest
    assert verdict.status == "failed"
    assert any("not over manifest" in reason for reason in verdict.reasons), verdict.reasons


@pytest.mark.requirement("FR-022")
def test_second_verify_is_cached_and_does_not_hit_the_registry(
    registry: MemoryRegistry, signed: tuple[str, Path]
) -> None:
    digest, public = signed
    verifier = SignatureVerifier(_policy(public), cache=MemoryVerdictCache())
    first = verifier.verify(registry, digest)
    calls = sum(registry.calls.values())
    second = verifier.verify(registry, digest)
    assert (first.cached, second.cached) == (False, True)
    assert second.model_copy(update={"cached": False}) == first
    assert sum(registry.calls.values()) == calls
    fresh = verifier.verify(registry, digest, use_cache=False)
    assert not fresh.cached and sum(registry.calls.values()) > calls


@pytest.mark.requirement("FR-022")
def test_only_verified_verdicts_are_cached(tmp_path: Path, registry: MemoryRegistry) -> None:
    _, public, _ = write_key_pair(tmp_path)
    digest = registry.push_artifact([b"unsigned"]).digest
    cache = MemoryVerdictCache()
    verifier = SignatureVerifier(_policy(public), cache=cache)
    assert verifier.verify(registry, digest).status == "unsigned"
    assert cache.get(digest, verifier.policy_fingerprint) is None
    assert not verifier.verify(registry, digest).cached


@pytest.mark.requirement("FR-022")
def test_changing_keys_reverifies(tmp_path: Path, registry: MemoryRegistry,
                                  signed: tuple[str, Path]) -> None:
    digest, public = signed
    cache = SqliteVerdictCache(tmp_path / "ledger.db", KEY)
    assert SignatureVerifier(_policy(public), cache=cache).verify(registry, digest).verified
    _, other, _ = write_key_pair(tmp_path, name="other")
    verdict = SignatureVerifier(_policy(other), cache=cache).verify(registry, digest)
    assert verdict.status == "failed" and not verdict.cached
    # same path, new key content: not served from the cache either
    public.write_bytes(other.read_bytes())
    assert SignatureVerifier(_policy(public), cache=cache).verify(registry, digest).status \
        == "failed"


@pytest.mark.requirement("FR-022")
def test_sqlite_cache_persists_across_instances(tmp_path: Path, registry: MemoryRegistry,
                                                signed: tuple[str, Path]) -> None:
    digest, public = signed
    db = tmp_path / "ledger.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE other_table (x INTEGER)")
    SignatureVerifier(_policy(public), cache=SqliteVerdictCache(db, KEY)).verify(registry, digest)
    calls = sum(registry.calls.values())
    verifier = SignatureVerifier(_policy(public), cache=SqliteVerdictCache(db, KEY))
    again = verifier.verify(registry, digest)
    assert again.cached and again.verified and sum(registry.calls.values()) == calls
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"other_table", "floe_signature_cache"} <= tables


@pytest.mark.requirement("FR-022")
def test_sqlite_cache_ignores_unverified_and_unreadable_rows(tmp_path: Path) -> None:
    cache = SqliteVerdictCache(tmp_path / "c.db", KEY)
    digest = "sha256:" + "b" * 64
    cache.put(digest, "p", SignatureVerdict(digest=digest, status="failed"))
    assert cache.get(digest, "p") is None
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.execute("INSERT INTO floe_signature_cache VALUES (?, 'p', '{bad', 'now', ?)",
                     (digest, row_mac(KEY, digest, "p", "{bad")))
    assert cache.get(digest, "p") is None


def test_relative_key_paths_resolve_against_base_dir(tmp_path: Path, registry: MemoryRegistry,
                                                     signed: tuple[str, Path]) -> None:
    digest, public = signed
    policy = VerificationPolicy(enforcement="enforce", public_keys=[public.name])
    assert SignatureVerifier(policy, base_dir=public.parent).verify(registry, digest).verified
    missing = VerificationPolicy(enforcement="enforce", public_keys=["nope.pub"])
    with pytest.raises(ConfigError, match="cannot read public key"):
        SignatureVerifier(missing, base_dir=tmp_path).verify(registry, digest)


_LAZY_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from floe_ledger.adapters.signing import SignatureVerifier, sign
from floe_ledger.domain.model.signature import VerificationPolicy
from support.cosign_reference import write_key_pair
from support.memory_registry import MemoryRegistry
tmp = Path(sys.argv[2])
private, public, _ = write_key_pair(tmp)
registry = MemoryRegistry()
digest = registry.push_artifact([b"x"]).digest
sign(registry, digest, private, "registry.test/floe/app")
issuers = json.loads(sys.argv[3])
policy = VerificationPolicy(enforcement="enforce", public_keys=[str(public)],
                            trusted_issuers=issuers)
verdict = SignatureVerifier(policy).verify(registry, digest)
print(json.dumps([verdict.status, "sigstore" in sys.modules]))
"""


@pytest.mark.requirement("FR-018")
@pytest.mark.parametrize("issuers", [[], [RELEASE.model_dump()]])
def test_sigstore_is_not_imported_for_key_based_verification(tmp_path: Path,
                                                             issuers: list[object]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LAZY_SCRIPT, str(TESTS), str(tmp_path), json.dumps(issuers)],
        capture_output=True, text=True, check=True, timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["verified", False]


@pytest.mark.requirement("FR-004", "FR-005", "FR-021", "US5")
def test_check_is_the_promotion_hook(tmp_path: Path, registry: MemoryRegistry,
                                     signed: tuple[str, Path]) -> None:
    digest, public = signed
    unsigned = registry.push_artifact([b"unsigned"]).digest
    enforce = SignatureVerifier(_policy(public, "enforce"))
    ok = enforce.check(registry, digest, use_cache=True)
    assert ok.decision == "proceed" and ok.message.startswith("Signature verified")
    assert ok.verdict["status"] == "verified" and ok.verdict["enforcement"] == "enforce"
    refused = enforce.check(registry, unsigned, use_cache=True)
    assert (refused.decision, refused.message) == ("refuse", "unsigned and enforcement enabled")
    warned = SignatureVerifier(_policy(public, "warn")).check(registry, unsigned, use_cache=True)
    assert warned.decision == "warn" and "promoting anyway" in warned.message
    off = SignatureVerifier(VerificationPolicy()).check(registry, unsigned, use_cache=True)
    assert (off.decision, off.verdict["status"]) == ("proceed", "skipped")
    json.dumps(ok.verdict)  # JSON-ready for events and output


@pytest.mark.requirement("FR-022")
def test_cache_rows_are_served_only_with_their_own_mac(tmp_path: Path) -> None:
    cache = SqliteVerdictCache(tmp_path / "c.db", KEY)
    one, two = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    cache.put(one, "p", SignatureVerdict(digest=one, status="verified", mode="key"))
    assert cache.get(one, "p") is not None
    assert SqliteVerdictCache(tmp_path / "c.db", bytes(32)).get(one, "p") is None  # other key
    with sqlite3.connect(tmp_path / "c.db") as conn:  # the row's MAC replayed onto another digest
        conn.execute("INSERT INTO floe_signature_cache SELECT ?, policy_fingerprint, "
                     "replace(verdict, ?, ?), verified_at, mac FROM floe_signature_cache",
                     (two, one, two))
        conn.execute("UPDATE floe_signature_cache SET policy_fingerprint = 'q' WHERE digest = ?",
                     (one,))
    assert cache.get(two, "p") is None and cache.get(one, "q") is None


def test_cache_key_is_created_private_and_outside_the_database(tmp_path: Path) -> None:
    path = cache_key_path({"HOME": str(tmp_path)})
    assert path == tmp_path / ".local" / "state" / "floe" / "verdict-cache.key"
    assert cache_key_path({"XDG_STATE_HOME": str(tmp_path / "s")}).parent == tmp_path / "s" / "floe"
    key = load_or_create_key(path)
    assert len(key) == 32 and load_or_create_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="other users"):
        load_or_create_key(path)

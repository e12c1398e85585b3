"""Signature signing and verification: the cosign `.sig` layout (key-based and keyless)
and Sigstore bundles.

Importing this package does not import ``sigstore`` (see :mod:`.keyless`).
"""

from floe_ledger.adapters.signing.cache import MemoryVerdictCache, SqliteVerdictCache, VerdictCache
from floe_ledger.adapters.signing.cosign import SignResult, sign, signature_tag, verify_key_based
from floe_ledger.adapters.signing.cosign_keyless import CosignKeylessVerifier
from floe_ledger.adapters.signing.keyless import BUNDLE_TYPE, KeylessVerifier, attach_bundle
from floe_ledger.adapters.signing.verifier import SignatureVerifier, trust_root_path

__all__ = [
    "BUNDLE_TYPE",
    "CosignKeylessVerifier",
    "KeylessVerifier",
    "MemoryVerdictCache",
    "SignResult",
    "SignatureVerifier",
    "SqliteVerdictCache",
    "VerdictCache",
    "attach_bundle",
    "sign",
    "signature_tag",
    "trust_root_path",
    "verify_key_based",
]

"""The real Sigstore bundles in tests/data/sigstore (their README says where they come from)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "sigstore"
WHEEL = DATA / "rfc8785-0.1.2-py3-none-any.whl"
WHEEL_BUNDLE = DATA / "rfc8785-0.1.2-py3-none-any.whl.sigstore.json"
DSSE_FILE = DATA / "a.dsse.staging-rekor-v2.txt"
DSSE_BUNDLE = DATA / "a.dsse.staging-rekor-v2.txt.sigstore.json"
GITHUB = "https://token.actions.githubusercontent.com"

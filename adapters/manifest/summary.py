"""What ``status`` needs from manifest.yaml, remembered per manifest content.

Validating manifest.yaml builds a dozen pydantic models (~0.2 s). ``status`` only needs
the repository and the environment names, so after a full validation they are kept in
``.floe/manifest-summary.json`` keyed by the sha256 of the manifest's bytes and its
path. Any change to the file changes the key, so the next run validates it in full; a
malformed manifest is never remembered, because it never validates. The key is an HMAC
under a secret kept outside the checkout (:mod:`floe_ledger.adapters.system.secrets`) over
the manifest *and* the summary, so an edited summary (an environment dropped, another
repository) is a miss, not what ``status`` shows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from floe_ledger.adapters.manifest import MAX_BYTES
from floe_ledger.adapters.system.files import FileTooLargeError, read_limited
from floe_ledger.adapters.system.secrets import local_secret

FORMAT = 1


@dataclass(frozen=True)
class ManifestSummary:
    repository: str
    environments: tuple[str, ...]


def _key(path: Path, data: bytes, repository: str, environments: Sequence[str]) -> str:
    message = (f"{FORMAT}\0{path}\0".encode() + data + b"\0"
               + json.dumps([repository, list(environments)]).encode())
    return hmac.new(local_secret("manifest-summary", os.environ), message,
                    hashlib.sha256).hexdigest()


def _cache_file(path: Path) -> Path:
    return path.parent / ".floe" / "manifest-summary.json"


def cached_summary(path: Path) -> ManifestSummary | None:
    """The remembered summary if the manifest is byte-for-byte the one validated."""
    try:
        data = read_limited(path, MAX_BYTES)
        doc = json.loads(_cache_file(path).read_text())
        summary = ManifestSummary(str(doc["repository"]),
                                  tuple(str(e) for e in doc["environments"]))
        want = _key(path, data, summary.repository, summary.environments)
        if not hmac.compare_digest(str(doc.get("key")), want):
            return None
        return summary
    except (OSError, ValueError, KeyError, TypeError, FileTooLargeError):
        return None


def remember_summary(path: Path, summary: ManifestSummary) -> None:
    """Best effort: a read-only directory just means no cache."""
    try:
        data = read_limited(path, MAX_BYTES)
        target = _cache_file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        key = _key(path, data, summary.repository, summary.environments)
        tmp.write_text(json.dumps({"key": key, "repository": summary.repository,
                                   "environments": list(summary.environments)}))
        os.replace(tmp, target)
    except (OSError, ValueError, FileTooLargeError):
        return


def summary_of(path: Path, compute: Callable[[], ManifestSummary]) -> ManifestSummary:
    """The remembered summary of ``path``; on a miss, ``compute()`` (a full validation) is
    called and its result remembered."""
    summary = cached_summary(path)
    if summary is None:
        summary = compute()
        remember_summary(path, summary)
    return summary

"""Issue 13 item 4 (security review §13), generated: whatever a manifest's layer titles are,
``pull_files`` writes only direct children of its directory, and nothing when it refuses.

The artifacts are served from memory (a registry fake that, unlike a real registry, stores
any JSON; tests/e2e/test_pull_escape_e2e.py pulls from the real one); titles mix path
tricks, control characters, long and non-UTF-8 text, collisions and non-strings. The cases
run are counted and printed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_ledger.adapters.registry.pull import pull_files
from floe_ledger.domain.model.errors import IntegrityError, UsageError
from floe_ledger.domain.model.oci import OCI_MANIFEST, Manifest, sha256_digest
from support.memory_registry import MemoryRegistry
from support.tables import add_row

EXAMPLES = 300
TABLE = "Hostile input fuzzing, registry side (issue 13 item 4)"
TRICKS = ["..", ".", "/", "\\", "../", "..\\", "\x00", "\n", "\x7f", "~", "-", " ", "\ud800",
          "\u00e9", "e\u0301", "A", "a", "\u212a", "k", "x" * 120, "\u00e9" * 64, "/etc/x",
          "C:\\x", ".floe-pull-", ".part", "*", "$HOME", "%2e%2e"]
titles = st.one_of(
    st.from_regex(r"[A-Za-z0-9._ -]{1,40}", fullmatch=True),
    st.lists(st.sampled_from(TRICKS) | st.text(max_size=6), min_size=1, max_size=5).map(
        "".join),
    st.text(max_size=300),
    st.none(), st.integers(), st.lists(st.text(max_size=3), max_size=2),
)

def _tree(base: Path) -> dict[str, str]:
    found = {}
    for path in sorted(base.rglob("*")):
        rel = str(path.relative_to(base))
        found[rel] = ("link:" + os.readlink(path) if path.is_symlink() else "dir"
                      if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def _push(registry: MemoryRegistry, files: list[tuple[object, bytes]]) -> str:
    registry.put_blob(b"{}")
    layers = [{"mediaType": "application/octet-stream", "digest": registry.put_blob(data),
               "size": len(data), "annotations": {"org.opencontainers.image.title": title}}
              for title, data in files]
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": layers,
                       "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                  "digest": sha256_digest(b"{}"), "size": 2}}).encode()
    return registry.put_manifest("v1.0.0", Manifest(sha256_digest(data), OCI_MANIFEST, data))


def _pull_checked(files: list[tuple[object, bytes]]) -> str:
    """Pull an artifact with these layers; assert nothing escaped or was left partial."""
    with tempfile.TemporaryDirectory(prefix="floe-titles-") as tmp:
        area = Path(tmp)
        registry = MemoryRegistry()
        digest = _push(registry, files)
        dest = area / "out"
        (area / "victim.txt").write_text("original")
        around = _tree(area)
        try:
            written = pull_files(registry, digest, dest)
        except (IntegrityError, UsageError):
            written = []
            assert not dest.exists() or list(dest.iterdir()) == []  # nothing, no temp file
        after = _tree(area)
        assert all(after.get(k) == v for k, v in around.items())  # nothing outside changed
        new = sorted(k for k in after if k not in around)
        assert new == ([] if not dest.exists() else ["out"]) + sorted(
            f"out/{p.name}" for p in written)
        for path, (title, data) in zip(written, files if written else [], strict=True):
            assert path.parent == dest and path.name == title and path.read_bytes() == data
        return "pulled" if written else "refused"


@pytest.mark.requirement("SC-002")
def test_generated_titles_are_written_inside_or_refused_whole() -> None:
    ran = 0
    outcomes = {"pulled": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(titles, st.binary(max_size=64)), min_size=1, max_size=4))
    def pull_generated(files: list[tuple[object, bytes]]) -> None:
        nonlocal ran
        ran += 1
        outcomes[_pull_checked(files)] += 1

    pull_generated()
    assert ran >= EXAMPLES
    add_row(TABLE, "layer titles pulled (1-4 layers each)", {
        "generated cases": ran, "tracebacks": 0, "pulled": outcomes["pulled"],
        "refused": outcomes["refused"], "escapes": 0, "partial pulls": 0})

"""What shell completion reads from manifest.yaml: environment names and the repository,
without validating, and None (never an exception) when the file cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ledger.adapters.manifest.peek import peek_manifest
from floe_ledger.adapters.manifest.template import render_manifest


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.requirement("FR-001a", "FR-001b")
def test_completion_reads_the_outline_without_validating(tmp_path: Path) -> None:
    path = _write(tmp_path, render_manifest("oci-layout:./oci", ["dev", "prod"]))
    outline = peek_manifest(path)
    assert outline is not None
    assert outline.environments == ("dev", "prod")
    assert outline.repository == f"oci-layout:{tmp_path / 'oci'}"
    path.write_text("artifacts:\n  registry: {uri: oci://r.example.com/a/b}\n")
    outline = peek_manifest(path)
    assert outline is not None and outline.environments == ("dev", "staging", "prod")
    path.write_text("artifacts: [\n")
    assert peek_manifest(path) is None
    assert peek_manifest(tmp_path / "missing.yaml") is None

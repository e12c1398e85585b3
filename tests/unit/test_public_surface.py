"""The layers' public names are pinned, and the folders only exist as floe_ledger.*."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

import floe_ledger.adapters.registry as registry
import floe_ledger.cli as cli
import floe_ledger.domain as domain
import floe_ledger.projections as projections


def test_the_exported_names_are_the_documented_ones() -> None:
    assert domain.__all__ == ["EnvironmentPath", "ExitCode", "FloeError", "Version"]
    assert projections.__all__ == [
        "AppendHistory", "EnvironmentStatus", "HistoryEntry", "RegisterArtifact", "SetLive",
        "SetLock", "SetPromotion", "ViewOp", "project"]
    assert registry.__all__ == [
        "Credentials", "DistributionRegistry", "LayoutRegistry", "RegistryLocation",
        "RegistrySettings", "open_registry", "pull_files", "push_files", "resolve_credentials"]
    assert cli.__all__ == ["cli", "main"]


@pytest.mark.parametrize("module", [projections, registry])
def test_every_exported_name_resolves(module) -> None:
    for name in module.__all__:
        assert getattr(module, name) is not None


@pytest.mark.parametrize("bare", ["domain", "projections", "adapters", "cli"])
def test_the_folders_are_not_importable_by_their_bare_names(bare: str) -> None:
    # Passes under `pytest` and `python -P -m pytest`; `python -m pytest` would put the
    # repository root on sys.path and hide a stray bare import.
    assert importlib.util.find_spec(bare) is None, f"{bare} must be imported as floe_ledger.{bare}"

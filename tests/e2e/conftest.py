"""End-to-end fixtures: each test gets its own directory, ledger and registry repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.registry_server import RegistryServer
from support.workspace import Workspace, make_workspace


@pytest.fixture
def workspace(tmp_path: Path, registry_server: RegistryServer, repo_name: str) -> Workspace:
    return make_workspace(tmp_path, registry_server, repo_name)

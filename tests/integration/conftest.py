"""Integration fixtures shared by the registry-facing suites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_ledger.adapters.registry import RegistrySettings, open_registry
from floe_ledger.domain.services.ports import Registry


@pytest.fixture(params=["distribution", "layout"])
def registry(request: pytest.FixtureRequest, tmp_path: Path, repo_name: str) -> Iterator[Registry]:
    """A fresh, empty repository in each kind of registry: the real docker-registry and an
    OCI image-layout directory."""
    env = {"DOCKER_CONFIG": str(tmp_path / "no-docker-config")}
    if request.param == "distribution":
        server = request.getfixturevalue("registry_server")
        settings = RegistrySettings(uri=server.uri(repo_name), plain_http=True)
    else:
        settings = RegistrySettings(uri="oci-layout:./layout")
    opened = open_registry(settings, base_dir=tmp_path, env=env)
    yield opened
    opened.close()

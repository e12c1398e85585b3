"""Shared fixtures: real registries on 127.0.0.1, each in its own mktemp directory."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from support.registry_server import RegistryServer, start_registry

USERS = {"alice": "alice-secret-pw", "bob": "bob-secret-pw"}
_repo_counter = itertools.count()


@pytest.fixture(scope="session")
def registry_server() -> Iterator[RegistryServer]:
    """A plain-http registry with no auth, shared by the session (use a fresh repo per test)."""
    server = start_registry()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def auth_registry_server() -> Iterator[RegistryServer]:
    """A plain-http registry with htpasswd basic auth and two users (USERS)."""
    server = start_registry(users=USERS)
    yield server
    server.cleanup()


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses."""
    return f"floe-test/r{next(_repo_counter)}-{abs(hash(request.node.nodeid)) % 10**8}"

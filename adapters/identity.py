"""Who the operator is (FR-045): from credentials, never from a flag."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from typing import Any

from floe_ledger.domain.config import IdentityConfig
from floe_ledger.domain.ports import Operator


def resolve_operator(config: IdentityConfig, env: Mapping[str, str],
                     registry: Callable[[], Any] | None = None) -> Operator:
    """The local user, marked unauthenticated (OIDC and registry identity come next)."""
    name = env.get("USER") or env.get("LOGNAME") or _getuser()
    return Operator(name=name, source="local", authenticated=False,
                    groups=tuple(config.groups.get(name, [])))


def _getuser() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

"""Loggers that cost nothing until something is logged, and the trace id they carry.

    prepare(env)                      # at start-up: FLOE_LOG_LEVEL, FLOE_LOG_FORMAT, NO_COLOR
    set_trace_id(telemetry.trace_id)  # every log line of this process then carries it
    log = get_logger("floe.webhooks")
    log.warning("webhook.failed", endpoint=label)

structlog (and its configuration: stderr, key/value on a terminal, JSON otherwise, secrets
redacted; see :mod:`.structlog_setup`) is imported on the first log line that will be
written, not at start-up: most commands log nothing, and importing it costs ~130 ms (it
pulls in rich and asyncio). A call below ``FLOE_LOG_LEVEL`` (default warning), e.g. a
webhook delivery's ``info`` line, is dropped here as the configured logger would drop it,
without importing anything. Until configured, structlog would print to stdout, so every
logger here configures it first.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

_state: dict[str, Any] = {"env": {}, "trace_id": "", "configured": False}

#: FLOE_LOG_LEVEL's names and their numbers (the standard library's; warning by default).
LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50}
DEFAULT_LEVEL = LEVELS["warning"]
#: The level each logging method writes at (``exception`` is error, ``fatal`` critical).
_METHOD_LEVELS = {**LEVELS, "exception": 40, "fatal": 50}


def level_of(env: Mapping[str, str]) -> int:
    """The threshold FLOE_LOG_LEVEL sets (an unknown name is the default, warning)."""
    return LEVELS.get(env.get("FLOE_LOG_LEVEL", "").strip().lower(), DEFAULT_LEVEL)


def prepare(env: Mapping[str, str]) -> None:
    """Remember the settings logging will be configured from (FLOE_LOG_LEVEL, NO_COLOR...)."""
    _state["env"] = dict(env)


def set_trace_id(trace_id: str) -> None:
    """The trace id stamped on every later log line of this process (threads included)."""
    _state["trace_id"] = trace_id


def trace_id() -> str:
    """The trace id log lines carry ("" until one is set)."""
    return str(_state["trace_id"])


def _configure() -> None:
    if _state["configured"]:
        return
    import structlog

    from floe_ledger.adapters.observability.structlog_setup import configure_logging

    if not structlog.is_configured():
        configure_logging(_state["env"])
    _state["configured"] = True


class LazyLogger:
    """A structlog logger created, with logging configured, on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None and _dropped(method):
            return _drop
        if self._logger is None:
            _configure()
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)


def _dropped(method: str) -> bool:
    """A call below the level :func:`_configure` would set, while structlog is not imported
    (so nobody can have configured it otherwise): nothing that would print is lost."""
    level = _METHOD_LEVELS.get(method)
    if level is None or _state["configured"] or "structlog" in sys.modules:
        return False
    return level < level_of(_state["env"])


def _drop(*_: Any, **__: Any) -> None:
    """What a filtered-out log call does: nothing (structlog's filtering loggers return None)."""


def get_logger(name: str) -> LazyLogger:
    return LazyLogger(name)

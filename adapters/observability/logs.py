"""Loggers that cost nothing until something is logged, and the trace id they carry.

    prepare(env)                      # at start-up: FLOE_LOG_LEVEL, FLOE_LOG_FORMAT, NO_COLOR
    set_trace_id(telemetry.trace_id)  # every log line of this process then carries it
    log = get_logger("floe.webhooks")
    log.warning("webhook.failed", endpoint=label)

structlog (and its configuration: stderr, key/value on a terminal, JSON otherwise, secrets
redacted; see :mod:`.structlog_setup`) is imported on the first log call, not at start-up:
most commands log nothing, and importing it costs ~90 ms on every run. Until configured,
structlog would print to stdout, so every logger here configures it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_state: dict[str, Any] = {"env": {}, "trace_id": "", "configured": False}


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
        if self._logger is None:
            _configure()
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)


def get_logger(name: str) -> LazyLogger:
    return LazyLogger(name)

"""Loggers that cost nothing until something is logged.

structlog (and its configuration: stderr, key/value on a terminal, JSON otherwise, secrets
redacted) is imported on the first log call, not at start-up: most commands log nothing,
and importing it costs ~90 ms on every run. Until configured, structlog would print to
stdout, so every logger here configures it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_ENV: dict[str, str] = {}
_TRACE: list[str] = [""]
_CONFIGURED: list[bool] = [False]


def prepare(env: Mapping[str, str]) -> None:
    """Remember the settings logging will be configured from (FLOE_LOG_LEVEL, NO_COLOR...)."""
    _ENV.clear()
    _ENV.update(env)


def set_trace_id(trace_id: str) -> None:
    """Stamp every later log line with this trace id."""
    _TRACE[0] = trace_id
    if _CONFIGURED[0]:
        from floe_ledger.adapters.logging_setup import set_trace_id as apply

        apply(trace_id)


def _configure() -> None:
    if _CONFIGURED[0]:
        return
    import structlog

    from floe_ledger.adapters.logging_setup import configure_logging

    if not structlog.is_configured():
        configure_logging(_ENV, trace_id=_TRACE[0] or None)
    _CONFIGURED[0] = True


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

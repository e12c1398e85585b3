"""structlog on stderr, never stdout: key/value on a terminal, JSON lines otherwise.

    configure_logging(env)            # once per command, before anything logs
    set_trace_id(telemetry.trace_id)  # (from .logs) every line then carries trace_id
    register_secret(token)            # this value is masked wherever it shows up

``FLOE_LOG_LEVEL`` (debug, info, warning, error; default warning) sets the level,
``FLOE_LOG_FORMAT`` (json, console) overrides the terminal check, ``NO_COLOR`` turns
colours off. Values under keys that look secret (password, token, secret,
authorization, ...) become ``[REDACTED]``; strings are run through the one scrubber,
:func:`.redact.scrub` (registered secret values, URL userinfo, ``Bearer ...``, ``token=...``
pairs, private keys, known token shapes), which gate output goes through too.
Standard-library loggers (OpenTelemetry, httpx) go through the same renderer; httpx
never logs below warning, since its request lines carry URLs, and the span exporter's
retries only show as errors.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import IO, Any

import structlog

from floe_ledger.adapters.observability import logs
from floe_ledger.adapters.observability.redact import REDACTED, register_secret, scrub

__all__ = ["configure_logging", "register_secret", "scrub"]

SENSITIVE_KEYS = ("password", "passwd", "token", "secret", "authorization", "api_key",
                  "apikey", "cookie", "credential")
# loggers that are quieter than the rest: request lines carry URLs; the exporter retries loudly
_FLOORS = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "urllib3": logging.WARNING,
           "opentelemetry": logging.ERROR}


def is_sensitive(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SENSITIVE_KEYS)


def _redact(key: str, value: Any) -> Any:
    if is_sensitive(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _redact(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact("", v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: mask secret-looking keys and known secret values."""
    return {key: _redact(key, value) for key, value in event_dict.items()}


def add_trace_id(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: ``trace_id`` on every line (a bound value wins)."""
    current = logs.trace_id()
    if current:
        event_dict.setdefault("trace_id", current)
    return event_dict


def add_logger_name(logger: Any, _: str, event_dict: MutableMapping[str, Any]) -> Any:
    name = getattr(logger, "name", "")
    if name:
        event_dict.setdefault("logger", name)
    return event_dict


class StderrLogger:
    """structlog's output end: one line per call, to ``sys.stderr`` as it is at call time."""

    def __init__(self, name: str = "", stream: IO[str] | None = None) -> None:
        self.name = name
        self._stream = stream

    def msg(self, message: str) -> None:
        out = self._stream or sys.stderr
        out.write(message + "\n")
        out.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _StderrHandler(logging.Handler):
    """Standard-library records rendered by structlog's formatter, to stderr."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            out = self._stream or sys.stderr
            out.write(self.format(record) + "\n")
            out.flush()
        except Exception:  # logging must never take the command down
            self.handleError(record)


def _level(env: Mapping[str, str]) -> int:
    return logs.level_of(env)


def _renderer(env: Mapping[str, str], stream: IO[str]) -> Any:
    fmt = env.get("FLOE_LOG_FORMAT", "").strip().lower()
    tty = _isatty(stream)
    if fmt == "console" or (fmt != "json" and tty):
        colors = tty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
        return structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback)
    return structlog.processors.JSONRenderer(default=str)


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _shared() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_id,
    ]


def _stdlib_bridge(level: int, renderer: Any, stream: IO[str] | None) -> None:
    handler = _StderrHandler(stream)
    handler.set_name("floe")
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared(), structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, redact_secrets, renderer],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "floe"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in _FLOORS.items():
        logging.getLogger(name).setLevel(max(level, floor))


def configure_logging(env: Mapping[str, str], *, trace_id: str | None = None,
                      stream: IO[str] | None = None) -> None:
    """Send structlog and standard-library logging to stderr (or ``stream``).

    Args:
        env: FLOE_LOG_LEVEL, FLOE_LOG_FORMAT and NO_COLOR are read from it.
        trace_id: stamped on every line; may also be given later with set_trace_id.
        stream: where to write; default is ``sys.stderr`` as it is at each write.
    """
    if trace_id is not None:
        logs.set_trace_id(trace_id)
    level = _level(env)
    renderer = _renderer(env, stream or sys.stderr)
    structlog.configure(
        processors=[*_shared(), add_logger_name, structlog.processors.StackInfoRenderer(),
                    structlog.processors.format_exc_info, redact_secrets, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *args: StderrLogger(str(args[0]) if args else "", stream),
        cache_logger_on_first_use=False,
    )
    _stdlib_bridge(level, renderer, stream)

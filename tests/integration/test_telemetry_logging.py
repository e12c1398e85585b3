"""structlog on stderr with trace ids and redaction (OBS; FLOE_LOG_* in docs/conventions.md)."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import structlog

from floe_ledger.adapters.observability.logs import set_trace_id
from floe_ledger.adapters.observability.structlog_setup import configure_logging, register_secret

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    set_trace_id("")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "floe"]:
        root.removeHandler(handler)
    structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.requirement("FR-033")
def test_json_lines_off_a_terminal_each_with_the_trace_id() -> None:
    stream = io.StringIO()
    configure_logging({"FLOE_LOG_LEVEL": "info"}, trace_id=TRACE, stream=stream)
    structlog.get_logger("floe.test").info("promotion.started", to_env="prod")
    logging.getLogger("some.library").warning("export failed: %s", "refused")
    first, second = _lines(stream)
    assert first["event"] == "promotion.started" and first["to_env"] == "prod"
    assert first["trace_id"] == TRACE and first["level"] == "info"
    assert first["logger"] == "floe.test"
    assert second["event"] == "export failed: refused" and second["trace_id"] == TRACE


def test_library_noise_is_held_back_and_httpx_never_logs_request_urls() -> None:
    stream = io.StringIO()
    configure_logging({"FLOE_LOG_LEVEL": "debug"}, stream=stream)
    logging.getLogger("opentelemetry.exporter.otlp").warning("Transient error, retrying")
    logging.getLogger("opentelemetry.exporter.otlp").error("Failed to export span batch")
    logging.getLogger("httpx").info("HTTP Request: POST https://h/secret-path")
    assert [line["event"] for line in _lines(stream)] == ["Failed to export span batch"]


def test_the_level_defaults_to_warning() -> None:
    stream = io.StringIO()
    configure_logging({}, stream=stream)
    log = structlog.get_logger()
    log.info("hidden")
    log.warning("shown")
    assert [line["event"] for line in _lines(stream)] == ["shown"]


def test_key_value_on_a_terminal_without_colour_when_no_color() -> None:
    stream = FakeTty()
    configure_logging({"NO_COLOR": "1"}, trace_id=TRACE, stream=stream)
    structlog.get_logger().warning("webhook.failed", endpoint="#0 https://hooks.example")
    text = stream.getvalue()
    assert "webhook.failed" in text and f"trace_id={TRACE}" in text
    assert "\x1b[" not in text
    assert not text.lstrip().startswith("{")


def test_secrets_are_redacted_by_key_by_value_and_inline() -> None:
    stream = io.StringIO()
    configure_logging({"FLOE_LOG_LEVEL": "debug"}, stream=stream)
    register_secret("hunter2-registered")
    structlog.get_logger().debug(
        "request", password="p4ss", headers={"Authorization": "Bearer abcdef123456",
                                             "Accept": "json"},
        note="sent with hunter2-registered", url="https://h/x?token=zzz999&a=1",
        raw="Authorization: Bearer qwertyuiop")
    (line,) = _lines(stream)
    text = json.dumps(line)
    for secret in ("p4ss", "abcdef123456", "hunter2-registered", "zzz999", "qwertyuiop"):
        assert secret not in text
    assert line["password"] == "[REDACTED]"
    assert line["headers"] == {"Authorization": "[REDACTED]", "Accept": "json"}
    assert line["url"] == "https://h/x?token=[REDACTED]&a=1"


def test_logs_never_reach_stdout() -> None:
    code = (
        "import os, structlog\n"
        "from floe_ledger.adapters.observability.structlog_setup import configure_logging\n"
        "configure_logging({'FLOE_LOG_LEVEL': 'debug'}, trace_id='t1')\n"
        "structlog.get_logger('floe.ledger').warning('views.catch_up_failed', error='x')\n"
        "import logging; logging.getLogger('x').error('stdlib too')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert done.stdout == ""
    assert "views.catch_up_failed" in done.stderr and "stdlib too" in done.stderr

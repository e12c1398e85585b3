"""floe's loggers import and configure structlog for the first line that will be written,
never for a call below FLOE_LOG_LEVEL (start-up: issue 15 item 2; FR-033 logs)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Run in a fresh interpreter: whether structlog got imported is the point.
SCRIPT = """\
import json, sys
from floe_ledger.adapters.observability.logs import get_logger, prepare
prepare(json.loads(sys.argv[1]))
log = get_logger("floe.webhooks")
log.debug("webhook.debugged", token="s3cr3t-value")
log.info("webhook.attempted", url="https://hooks.example/x?token=s3cr3t-value")
print(json.dumps({"after_info": "structlog" in sys.modules}))
log.warning("webhook.failed", authorization="Bearer s3cr3t-value")
print(json.dumps({"after_warning": "structlog" in sys.modules}))
"""


def run(env: dict[str, str]) -> tuple[list[dict[str, bool]], list[dict[str, object]]]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(env)],
                          capture_output=True, text=True, check=True, timeout=60)
    stdout = [json.loads(line) for line in proc.stdout.splitlines()]
    return stdout, [json.loads(line) for line in proc.stderr.splitlines()]


@pytest.mark.requirement("FR-033")
def test_calls_below_the_level_import_nothing_and_print_nothing() -> None:
    stdout, lines = run({})
    assert stdout == [{"after_info": False}, {"after_warning": True}]
    assert [line["event"] for line in lines] == ["webhook.failed"]
    assert lines[0]["authorization"] == "[REDACTED]"


@pytest.mark.requirement("FR-033")
def test_the_level_set_still_decides_and_secrets_are_still_scrubbed() -> None:
    stdout, lines = run({"FLOE_LOG_LEVEL": "info"})
    assert stdout == [{"after_info": True}, {"after_warning": True}]
    assert [line["event"] for line in lines] == ["webhook.attempted", "webhook.failed"]
    assert lines[0]["url"] == "https://hooks.example/x?token=[REDACTED]"
    assert "s3cr3t-value" not in json.dumps(lines)
    _, lines = run({"FLOE_LOG_LEVEL": "debug"})
    assert [line["event"] for line in lines] == [
        "webhook.debugged", "webhook.attempted", "webhook.failed"]
    assert lines[0]["token"] == "[REDACTED]"

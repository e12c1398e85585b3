"""``floe webhooks deliver`` and ``floe webhooks status`` through the real CLI (FR-043)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.commands.webhooks import notify_webhooks, webhooks
from floe_ledger.cli.output import Output
from support.ledger_events import LedgerWriter
from support.webhook_server import WebhookServer, free_port

REPO = "oci://127.0.0.1:5999/acme/app"


@click.group()
def cli() -> None:
    """The command group as cli/main.py mounts it."""


cli.add_command(webhooks)


def write_manifest(tmp_path: Path, *urls: str) -> Path:
    hooks = "".join(f"      - url: {u}\n        events: [lock, unlock]\n        retry_count: 0\n"
                    for u in urls)
    path = tmp_path / "manifest.yaml"
    path.write_text("artifacts:\n  registry:\n    uri: oci://127.0.0.1:5999/acme/app\n"
                    f"  promotion:\n    webhooks:\n{hooks}")
    return path


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerWriter]:
    writer = LedgerWriter(tmp_path / ".floe" / "ledger.sqlite", REPO)
    yield writer
    writer.close()


def run(manifest: Path, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(cli, ["webhooks", *args, "--manifest", str(manifest),
                                      "-o", "json"], env={"FLOE_LEDGER_URL": None})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.requirement("FR-043", "EDGE-12", "SC-011")
def test_deliver_exits_zero_while_an_endpoint_is_down_then_delivers_when_it_is_back(
    tmp_path: Path, ledger: LedgerWriter,
) -> None:
    down = WebhookServer(port=free_port())
    manifest = write_manifest(tmp_path, down.url("/hook"))
    # events written by commands that never notified (e.g. the process was killed)
    ledger.lock("prod", "incident 42")
    ledger.unlock("prod", "resolved")

    code, doc = run(manifest, "deliver", "--deadline", "5")
    assert code == 0 and doc["success"] is True
    assert doc["delivered"] == 0 and doc["failed"] == 1 and doc["not_attempted"] == 1
    assert len(doc["pending"]) == 2  # type: ignore[arg-type]
    assert "stays pending" in doc["warnings"][0]  # type: ignore[index]
    assert len(doc["trace_id"]) == 32  # type: ignore[arg-type]

    code, status = run(manifest, "status")
    assert code == 0
    states = [(d["event_type"], d["state"]) for d in status["deliveries"]]  # type: ignore[attr-defined]
    assert states == [("lock", "pending"), ("unlock", "pending")]

    with down:
        code, doc = run(manifest, "deliver")
        assert code == 0 and doc["delivered"] == 2 and doc["pending"] == []
        assert [r.json()["event_type"] for r in down.requests_for("/hook")] == ["lock", "unlock"]

    code, status = run(manifest, "status", "--all")
    assert [d["state"] for d in status["deliveries"]] == ["delivered", "delivered"]  # type: ignore[attr-defined]


def test_status_names_deliveries_of_endpoints_removed_from_the_manifest(
    tmp_path: Path, ledger: LedgerWriter,
) -> None:
    ledger.lock("prod", "x")
    run(write_manifest(tmp_path, f"http://127.0.0.1:{free_port()}/gone"), "deliver",
        "--deadline", "2")
    code, status = run(write_manifest(tmp_path, "https://hooks.example/new"), "status")
    assert code == 0
    (row,) = status["deliveries"]  # type: ignore[misc]
    assert row["endpoint"] == "(no longer configured)"


def test_deliver_prints_a_table_on_a_terminal(tmp_path: Path, ledger: LedgerWriter) -> None:
    ledger.lock("prod", "x")
    manifest = write_manifest(tmp_path, f"http://127.0.0.1:{free_port()}/down")
    result = CliRunner().invoke(cli, ["webhooks", "deliver", "--manifest", str(manifest),
                                      "--deadline", "2"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "delivered 0, failed 1, still pending 1" in result.stdout
    assert "still pending" in result.stdout and "lock" in result.stdout


@pytest.mark.requirement("FR-040", "FR-043")
def test_notify_webhooks_is_what_a_writing_command_calls_at_its_end(
    tmp_path: Path, ledger: LedgerWriter, capsys: pytest.CaptureFixture[str],
) -> None:
    with WebhookServer() as server:
        manifest = write_manifest(tmp_path, server.url("/ok"),
                                  f"http://127.0.0.1:{free_port()}/down")
        ledger.lock("prod", "freeze")  # what `floe platform lock` just wrote
        app = App(Settings.from_options(str(manifest), env={}))
        try:
            warnings = notify_webhooks(app, Output("json"))
        finally:
            app.close()
        assert [r.json()["event_type"] for r in server.requests_for("/ok")] == ["lock"]
    assert len(warnings) == 1 and "#1 http://127.0.0.1" in warnings[0]
    captured = capsys.readouterr()
    assert captured.out == "" and "stays pending" in captured.err


def test_notify_webhooks_never_raises_even_without_a_manifest(tmp_path: Path) -> None:
    app = App(Settings.from_options(str(tmp_path / "missing.yaml"), env={}))
    assert notify_webhooks(app, Output("table")) == []

"""Security review §18: the FLOE_DEBUG traceback is scrubbed like every other output."""

from __future__ import annotations

import io

import pytest

from floe_ledger.cli.output import Output, handle_errors


@pytest.mark.requirement("FR-032")
def test_the_debug_traceback_never_shows_a_secret(monkeypatch, capsys) -> None:
    monkeypatch.setenv("FLOE_DEBUG", "1")
    monkeypatch.setenv("FLOE_REGISTRY_PASSWORD", "hunter2-very-secret")
    out = Output("json", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(SystemExit) as ended, handle_errors(out):
        raise RuntimeError("connect to postgres://ci:hunter2-very-secret@db/ledger failed")
    assert ended.value.code == 1
    printed = capsys.readouterr().err
    assert "RuntimeError" in printed and "Traceback" in printed
    assert "hunter2-very-secret" not in printed


@pytest.mark.requirement("FR-032")
def test_the_unexpected_error_message_is_scrubbed_like_the_traceback(monkeypatch,
                                                                     capsys) -> None:
    """The message printed after the traceback (and in the JSON envelope) quoted the
    exception's text as it was, while the traceback above it was scrubbed."""
    monkeypatch.setenv("FLOE_DEBUG", "1")
    monkeypatch.setenv("FLOE_OIDC_TOKEN", "eyJ-a-token-value-for-the-test")
    for fmt in ("json", "table"):
        stdout, stderr = io.StringIO(), io.StringIO()
        out = Output(fmt, stdout=stdout, stderr=stderr)
        with pytest.raises(SystemExit) as ended, handle_errors(out):
            raise RuntimeError("the IdP said no to eyJ-a-token-value-for-the-test")
        assert ended.value.code == 1
        printed = stdout.getvalue() + stderr.getvalue() + capsys.readouterr().err
        assert "RuntimeError: the IdP said no to [REDACTED]" in printed, printed
        assert "eyJ-a-token-value-for-the-test" not in printed

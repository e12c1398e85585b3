"""Security review §12: control characters in names and reasons cannot forge terminal lines.

A reason with a newline is refused at input (exit 2, nothing recorded); an operator name
with an ANSI escape (from USER, or any identity source) is recorded as it is, shown
escaped in every human table and line, and kept raw in JSON.
"""

from __future__ import annotations

import pytest

FORGED = ("done\n2026-12-04 19:05:00  EnvironmentUnlocked prod      -         "
          "security-lead  approved by CAB-7781")
MALLORY = "mallory\x1b[2K\r\x1b[32mapproved-by-CAB"


@pytest.mark.requirement("CLI-10", "FR-031")
def test_a_reason_with_a_newline_is_refused_and_nothing_is_recorded(workspace) -> None:
    before = workspace.event_kinds()
    proc = workspace.run("platform", "lock", "--env", "prod", "--reason", FORGED)
    assert proc.returncode == 2, proc.stderr
    assert "control characters" in proc.stderr and "\n2026" not in proc.stderr
    assert workspace.event_kinds() == before
    glass = workspace.run("platform", "promote", "v1.0.0", "--to", "prod",
                          "--break-glass", "ok\x1b[2Kfine")
    assert glass.returncode == 2 and "control characters" in glass.stderr


@pytest.mark.requirement("CLI-14", "FR-031")
def test_an_operator_name_with_escapes_is_shown_escaped_and_kept_raw_in_json(workspace) -> None:
    evil = {"USER": MALLORY}
    assert workspace.run("platform", "lock", "--env", "prod", "--reason", "freeze",
                         env=evil).returncode == 0
    code, out = workspace.json("platform", "status")
    assert code == 0
    assert [e["locked_by"] for e in out["environments"] if e["locked"]] == [MALLORY]   # JSON: raw
    outputs = {
        "status": workspace.run("platform", "status", "--history", "5"),
        "audit history": workspace.run("audit", "history", "--env", "prod"),
        "unlock": workspace.run("platform", "unlock", "--env", "prod", "--reason", "go",
                                env=evil),
    }
    for name, proc in outputs.items():
        assert proc.returncode == 0, (name, proc.stderr)
        text = proc.stdout + proc.stderr
        assert "\x1b" not in text and "\r" not in text, name
    assert "mallory\\x1b[2K\\r\\x1b" in outputs["audit history"].stdout
    lines = [ln for ln in outputs["audit history"].stdout.splitlines() if ln.strip()]
    assert lines[0].startswith("history: 1 event(s)") and len(lines) == 2
    assert "LOCKED by mallory\\x1b[2K" in outputs["status"].stdout.replace("\n", "")

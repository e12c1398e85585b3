"""Security review §13: `artifact pull` never writes through a symlink in the destination."""

from __future__ import annotations

import pytest


@pytest.mark.requirement("SC-002")
def test_pull_refuses_a_symlink_planted_in_the_destination(workspace, tmp_path) -> None:
    workspace.push("v1.0.0", "payload: 1\n", name="a.yaml")
    victim = tmp_path / "victim.txt"
    victim.write_text("original\n")
    dest = tmp_path / "pulled"
    dest.mkdir()
    (dest / "a.yaml").symlink_to(victim)
    proc = workspace.run("artifact", "pull", "v1.0.0", "-d", str(dest))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "symbolic link" in proc.stderr
    assert victim.read_text() == "original\n"
    (dest / "a.yaml").unlink()
    ok = workspace.run("artifact", "pull", "v1.0.0", "-d", str(dest))
    assert ok.returncode == 0, ok.stderr
    assert (dest / "a.yaml").read_text() == "payload: 1\n"

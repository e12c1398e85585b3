"""A terminal 100 columns wide, without colour, that the renderers print to."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest

from floe_ledger.cli.output import Output


@dataclass
class Terminal:
    """An ``Output`` in table mode whose consoles write to two buffers."""

    trace_id: str = "4bf92f3577b34da6a3ce929d0e0e4736"
    stdout: io.StringIO = field(default_factory=io.StringIO)
    stderr: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        self.out = Output("table", self.trace_id, stdout=self.stdout, stderr=self.stderr,
                          width=100)

    def lines(self) -> list[str]:
        """What reached stdout, one string per line."""
        return self.stdout.getvalue().splitlines()

    def err_lines(self) -> list[str]:
        """What reached stderr, one string per line."""
        return self.stderr.getvalue().splitlines()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    monkeypatch.delenv("NO_COLOR", raising=False)
    return Terminal()

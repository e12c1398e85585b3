"""Tables that tests fill and pytest prints at the end of the run (with or without xdist).

A test adds a row with ``request.node.user_properties.append((TABLE, json.dumps(row)))``;
the row travels with the test's report (also from xdist workers), and the terminal summary
prints every table whose rows arrived, in the order the columns of its first row give.
Hooked in by tests/e2e/conftest.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

TITLES = {
    "hostile_registry_row": "Hostile registry answers (issue 13 item 4)",
    "pull_escape_row": "artifact pull never writes outside its directory (issue 13 item 4)",
}
_rows: dict[str, list[dict[str, Any]]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name in TITLES:
            _rows.setdefault(name, []).append(json.loads(str(value)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, rows in _rows.items():
        terminalreporter.write_sep("=", TITLES[name])
        for line in render(rows):
            terminalreporter.write_line(line)


def render(rows: list[dict[str, Any]]) -> list[str]:
    """A Markdown table of ``rows`` (columns from the first row), sorted by its first column."""
    columns = list(rows[0])
    ordered = sorted(rows, key=lambda r: str(r.get(columns[0], "")))
    cells = [[str(r.get(c, "")) for c in columns] for r in ordered]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return [line(columns), line(["-" * w for w in widths]), *map(line, cells),
            f"{len(rows)} case(s)"]

"""Result tables the suite prints at the end of a run (the fault matrix, crash points,
tamper windows, fuzzing counts): a test adds rows; the terminal summary prints each table
as Markdown, so a CI log carries it.

    add_row("Tamper windows", "delete the newest event", {"verify": "exit 14", ...})

Rows go to JSON Lines files in a directory the controller creates (``FLOE_TEST_TABLES``),
so rows added in pytest-xdist workers reach the controller that prints them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV = "FLOE_TEST_TABLES"


def add_row(table: str, row: str, cells: dict[str, Any]) -> None:
    """Add (or replace) ``row`` of ``table``; cells are shown in first-seen column order."""
    folder = os.environ.get(ENV)
    if not folder:
        return  # not run under the suite's conftest (e.g. a script importing a helper)
    name = "".join(c if c.isalnum() else "-" for c in table)
    with (Path(folder) / f"{name}.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"table": table, "row": row, "cells": cells}) + "\n")


def render_tables(folder: Path) -> list[str]:
    """Every table in ``folder`` as Markdown lines, tables and rows sorted by name."""
    lines: list[str] = []
    for path in sorted(folder.glob("*.jsonl")):
        rows: dict[str, dict[str, Any]] = {}
        title = path.stem
        for line in path.read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            title = doc["table"]
            rows[doc["row"]] = doc["cells"]
        columns: list[str] = []
        for cells in rows.values():
            columns += [c for c in cells if c not in columns]
        lines += ["", f"{title} ({len(rows)} rows)", "",
                  "| case | " + " | ".join(columns) + " |",
                  "|---" * (len(columns) + 1) + "|"]
        lines += ["| " + " | ".join([row, *(str(cells.get(c, "")) for c in columns)]) + " |"
                  for row, cells in sorted(rows.items())]
    return lines

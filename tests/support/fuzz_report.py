"""The hostile-input table: cases run per category, tracebacks, exit codes seen.

Fuzz tests (``tests/fuzz``) put one row per category into their report's
``user_properties`` under :data:`PROPERTY`; ``tests/conftest.py`` merges the rows of all
reports (xdist workers included) and :func:`publish` adds them to the suite's result tables
(``support.tables``), printed after the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from support.tables import add_row

PROPERTY = "hostile_input"
"""The ``user_properties`` key a test's tally travels under."""


def summary_rows(reports: Iterable[Any]) -> list[dict[str, Any]]:
    """The tallies of all reports, merged by category (several tests may share one)."""
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        for key, row in getattr(report, "user_properties", ()):
            if key != PROPERTY:
                continue
            into = merged.setdefault(row["category"], {"category": row["category"],
                                                       "cases": 0, "tracebacks": 0,
                                                       "codes": Counter(), "peak_mib": None})
            into["cases"] += row["cases"]
            into["tracebacks"] += row["tracebacks"]
            into["codes"].update({int(k): v for k, v in row["codes"].items()})
            if row.get("peak_mib") is not None:
                into["peak_mib"] = max(into["peak_mib"] or 0.0, row["peak_mib"])
    return list(merged.values())


TABLE = "Hostile input: cases run per category"


def publish(rows: Sequence[Mapping[str, Any]]) -> None:
    """Add the merged rows, and their total, to the suite's result tables (support.tables)."""
    if not rows:
        return
    for row in rows:
        add_row(TABLE, row["category"], _cells(row))
    codes: Counter[int] = Counter()
    for row in rows:
        codes.update(row["codes"])
    add_row(TABLE, "(all categories)", _cells({
        "cases": sum(r["cases"] for r in rows), "codes": codes, "peak_mib": None,
        "tracebacks": sum(r["tracebacks"] for r in rows)}))


def _cells(row: Mapping[str, Any]) -> dict[str, Any]:
    peak = row.get("peak_mib")
    return {"cases run": row["cases"], "tracebacks": row["tracebacks"],
            "exit codes seen (code: cases)": ", ".join(
                f"{c}: {n}" for c, n in sorted(row["codes"].items())),
            "peak RSS (MiB)": f"{peak:.0f}" if peak is not None else "in-process"}

"""Jinja filters and query-string parsing for the dashboard's templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def when(value: Any) -> str:
    """An ISO 8601 time as ``2026-12-05 04:58:03 UTC`` ('' for none)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def short(digest: Any, length: int = 12) -> str:
    """``sha256:4bf92f35a1c2…`` → its first ``length`` hex digits."""
    text = str(digest or "")
    return text.removeprefix("sha256:")[:length]


def duration(ms: Any) -> str:
    """Milliseconds as ``850 ms`` or ``2.4 s``."""
    value = int(ms or 0)
    return f"{value} ms" if value < 1000 else f"{value / 1000:.1f} s"


FILTERS = {"when": when, "short": short, "duration": duration}


def parse_moment(text: str | None, name: str, problems: list[str]) -> datetime | None:
    """A filter form's time (``datetime-local`` gives ``2026-12-05T04:58``; UTC), or None;
    a value that is not a time adds a problem to show instead of failing the page."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{name}: not a date and time (e.g. 2026-12-05T14:30)")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""How single values look in a table cell: short digests and UTC times (JSON keeps them whole)."""

from __future__ import annotations

from datetime import UTC, datetime


def short_digest(digest: str | None) -> str:
    """``sha256:0123456789ab`` (the algorithm and 12 hex digits), or ``-``."""
    if not digest:
        return "-"
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}"


def utc_time(iso: str | None, *, suffix: str = "Z") -> str:
    """A stored ISO time as ``2026-11-25 22:56:03Z`` (``suffix`` after the seconds), or ``-``.

    A value that is not ISO 8601 is shown as it is.
    """
    if not iso:
        return "-"
    try:
        moment = datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M:%S") + suffix

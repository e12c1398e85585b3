"""The one escaping helper for human output (security review §12).

    escape("done\\n2026-12-04 ... approved")   # 'done\\\\n2026-12-04 ... approved': one line
    escape("mallory\\x1b[2K[green]ok")          # 'mallory\\\\x1b[2K\\\\[green]ok'

Names, reasons, versions and operators come from people and from other ledgers' records.
On a terminal, a newline in one forges a line of history, an ANSI escape rewrites what is
shown, and ``[red]`` is Rich markup. ``escape`` shows C0 and C1 control characters, DEL,
the Unicode line, paragraph and bidi-override characters, and the lone surrogates that
stand for bytes that are not UTF-8, as Python escapes (``\\n``, ``\\x1b``, ``\\u202e``,
``\\udcff``), then escapes Rich markup. Every human renderer uses it;
``-o json`` keeps the raw string (JSON escapes it).
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                          r"\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(value: object) -> str:
    """``str(value)`` with control and bidi characters shown as escapes, nothing else changed."""
    return _UNPRINTABLE.sub(_show, str(value))


def _show(match: re.Match[str]) -> str:
    char = match[0]
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def has_control(value: str) -> bool:
    """Whether ``value`` holds a character :func:`printable` would escape."""
    return _UNPRINTABLE.search(value) is not None


def escape(value: object) -> str:
    """``value`` safe to print on a terminal through Rich: one line, no escapes, no markup."""
    from rich.markup import escape as markup

    return markup(printable(value))

"""Hostile input, never a traceback (issue 13, item 4): see docs/hostile-input.md."""

from __future__ import annotations

from support.fuzzing import tally

__all__ = ["tally"]

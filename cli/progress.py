"""Progress bars for long work on a terminal (sync, audit export and verify, ledger rebuild).

    with progress(out, "exporting events", total=app.store.max_position()) as bar:
        for row in bar.track(rows): ...       # or bar.advance(n), bar.update(done, total)

A bar is drawn with rich on stderr only when a person watches: table output, and both
stdout and stderr are terminals. Under ``-o json|yaml``, in a pipe or a CI log nothing is
drawn and every call is free. The bar is safe to advance from worker threads.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

from floe_ledger.cli.output import Output

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

T = TypeVar("T")


class Bar:
    """One task's bar, or nothing when progress is not shown."""

    def __init__(self, rich: Progress | None = None, task: TaskID | None = None) -> None:
        self._rich = rich
        self._task = task

    def advance(self, steps: int = 1) -> None:
        if self._rich is not None and self._task is not None:
            self._rich.advance(self._task, steps)

    def update(self, completed: int, total: int | None = None) -> None:
        if self._rich is not None and self._task is not None:
            self._rich.update(self._task, completed=completed, total=total)

    def track(self, items: Iterable[T], every: int = 1000) -> Iterable[T]:
        """``items``, advancing the bar every ``every`` items (a million rows, one call
        each, would cost more than the work when a bar is drawn); ``items`` itself when
        no bar is drawn."""
        if self._rich is None:
            return items
        return self._tracked(items, every)

    def _tracked(self, items: Iterable[T], every: int) -> Iterator[T]:
        done = 0
        for item in items:
            yield item
            done += 1
            if done == every:
                self.advance(done)
                done = 0
        if done:
            self.advance(done)


def shows_progress(out: Output) -> bool:
    """Whether a person is watching: table output with stdout and stderr on a terminal."""
    return not out.structured and sys.stdout.isatty() and sys.stderr.isatty()


@contextlib.contextmanager
def progress(out: Output, description: str, total: int | None = None) -> Iterator[Bar]:
    """A bar for ``description`` (``total`` steps; None: not known yet), on stderr."""
    if not shows_progress(out):
        yield Bar()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=out.err_console, transient=False) as rich:
        yield Bar(rich, rich.add_task(description, total=total))

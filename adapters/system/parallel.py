"""Independent registry requests at once: a remote registry's round trips overlap instead of
adding up (issue 15, item 1).

    manifest, index = pair(lambda: put(manifest), lambda: read(index))   # one round trip
    found = each(registry.resolve, ["v1.2.3-dev", "latest-staging"])     # one round trip

The calling thread works with up to :data:`LIMIT` - 1 short-lived daemon threads; every
call is waited for, so nothing is left running when these return. Results come back in the
order of the calls, and if any raised, the first failure in that order is raised (after all
finished), so a failure reads the same as when the calls ran one after another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")
R = TypeVar("R")


LIMIT = 8
"""The most requests one registry is sent at once (httpx keeps up to this many connections
per host alive, so a second wave reuses them)."""


def run_all(calls: list[Callable[[], Any]], limit: int = LIMIT) -> list[Any]:
    """Run ``calls`` concurrently, at most ``limit`` at a time; their results in order, or
    the first failure (in order) raised once every call has finished."""
    if len(calls) <= 1:
        return [call() for call in calls]
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)
    pending = iter(range(len(calls)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                return
            try:
                results[i] = calls[i]()
            except BaseException as exc:  # re-raised on the calling thread below
                errors[i] = exc

    threads = [threading.Thread(target=work, daemon=True, name=f"floe-io-{n}")
               for n in range(min(limit, len(calls)) - 1)]
    for thread in threads:
        thread.start()
    work()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results


def pair(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """Two calls at once."""
    a, b = run_all([first, second])
    return a, b


def each(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` on every item at once; results in the items' order."""
    return run_all([lambda item=item: fn(item) for item in items])  # type: ignore[misc]


class Later(Generic[T]):
    """One call started now on a daemon thread; :meth:`result` waits for it and returns its
    result or raises its error. Never waited for, it cannot hold the process at exit."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True,
                                        name="floe-io-later")
        self._thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self._result = call()
        except BaseException as exc:  # raised by result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]

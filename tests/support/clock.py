"""A Clock for the domain's unit tests: wall-clock time (events carry wall-clock
timestamps too), no waiting between retries, fresh uuid4 ids; counts the pauses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


class TestClock:
    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.pauses: list[int] = []

    def now(self) -> datetime:
        return datetime.now(UTC)

    def pause(self, attempt: int) -> None:
        self.pauses.append(attempt)

    def new_id(self) -> str:
        return str(uuid.uuid4())

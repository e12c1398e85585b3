"""The real :class:`~floe_ledger.domain.services.ports.Clock`."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime


class SystemClock:
    """UTC wall-clock time, jittered exponential pauses, uuid4 ids."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def pause(self, attempt: int) -> None:
        time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 5)))  # noqa: S311

    def new_id(self) -> str:
        return str(uuid.uuid4())

"""Which process owns an open promotion, and whether it still runs (resume, NFR-004)."""

from __future__ import annotations

import os
import socket


class LocalProcessProbe:
    """Owner = ``host:pid``. A process on this host is checked; another host's is unknown."""

    def owner(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def alive(self, owner: str) -> bool | None:
        host, _, pid = owner.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return None
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

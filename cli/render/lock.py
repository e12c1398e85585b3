"""``floe platform lock`` and ``unlock``: their JSON fields and their lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floe_ledger.cli.output import Output


def lock_payload(environment: str, changed: bool, lock: Mapping[str, Any] | None, reason: str,
                 operator: str) -> dict[str, Any]:
    """The lock's fields for JSON and YAML; ``lock`` is the environment's lock after the change."""
    return {"environment": environment, "changed": changed, "locked": lock is not None,
            "lock": lock, "reason": reason, "operator": operator}


def render_lock(out: Output, environment: str, changed: bool, lock: Mapping[str, Any] | None,
                reason: str, operator: str, *, locking: bool) -> None:
    """What changed, and for a new lock how to lift it."""
    from floe_ledger.cli.render.text import escape

    c = out.console
    if locking and not changed and lock:
        c.print(f"{escape(environment)} is already locked by {escape(lock['locked_by'])}"
                f" at {lock['locked_at']}: {escape(lock['reason'])}")
    elif locking:
        c.print(f"[red]Locked[/red] {escape(environment)} (by {escape(operator)})"
                f": {escape(reason)}")
        c.print(f"  unlock with: floe platform unlock --env {escape(environment)} "
                "--reason TEXT")
    elif changed:
        c.print(f"[green]Unlocked[/green] {escape(environment)}: {escape(reason)}")
    else:
        c.print(f"{escape(environment)} was not locked; nothing to do")

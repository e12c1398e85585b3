"""What every command that writes events does at its end, whatever its result.

    finally:
        after_command(app, out)    # webhooks (FR-043), then the audit archive (ARCH-05)

Both are best effort: they never raise and never change the exit code; what they could not
do stays in its outbox for ``floe webhooks deliver`` and ``floe audit archive``.
"""

from __future__ import annotations

from floe_ledger.cli.app import App
from floe_ledger.cli.commands.audit_archive import archive_after
from floe_ledger.cli.commands.webhooks import notify_webhooks
from floe_ledger.cli.output import Output


def after_command(app: App, out: Output) -> None:
    notify_webhooks(app, out)
    archive_after(app, out)

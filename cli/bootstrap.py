"""Old name of :mod:`floe_ledger.cli.app`, kept only for ``status_query`` and ``audit_ops``.

Those two modules are moving to ``adapters/`` on another branch; delete this file when
they have gone. Everything else imports ``floe_ledger.cli.app``.
"""

from floe_ledger.cli.app import App, Settings

__all__ = ["App", "Settings"]

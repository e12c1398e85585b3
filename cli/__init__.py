"""The ``floe`` command line."""

from floe_ledger.cli.main import cli, main

__all__ = ["cli", "main"]

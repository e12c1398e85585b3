"""The ``floe`` command line."""

import sys

# httpx's package __init__ imports its own command line (httpx._main: rich, pygments,
# click) when it can, ~30-40 ms on every floe run that reaches a registry, for a CLI this
# process never runs. A None entry in sys.modules is Python's documented way to make an
# import fail (ModuleNotFoundError); httpx then defines a stub ``httpx.main`` instead.
# Only when httpx is not imported yet: a process that loaded it first keeps it whole.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from floe_ledger.cli.main import cli, main

__all__ = ["cli", "main"]

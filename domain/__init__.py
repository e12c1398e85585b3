"""The domain: the pure model and the application services (use cases) over it.

- ``floe_ledger.domain.model``: the Artifact aggregate, its events, values, policies and
  errors. Pure: no I/O, no clock, no randomness (an import-linter contract keeps it so).
- ``floe_ledger.domain.services``: one module per use case (promote, rollback, locks)
  over the ports in ``services/ports.py``, all writing through one unit of work
  (``services/unit_of_work.py``) and one registry writer (``services/registry_writes.py``).

Import submodules by their full name (``floe_ledger.domain.services.promote``); this
package exposes the error and value types every layer uses.
"""

from floe_ledger.domain.model.errors import ExitCode, FloeError
from floe_ledger.domain.model.values import EnvironmentPath, Version

__all__ = ["EnvironmentPath", "ExitCode", "FloeError", "Version"]

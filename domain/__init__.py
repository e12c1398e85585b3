"""The domain: the Artifact aggregate, its events, values, policies, errors and ports.

Pure: no I/O. Import submodules by their full name (``floe_ledger.domain.promote``);
this package exposes the error and value types every layer uses.
"""

from floe_ledger.domain.errors import ExitCode, FloeError
from floe_ledger.domain.values import EnvironmentPath, Version

__all__ = ["EnvironmentPath", "ExitCode", "FloeError", "Version"]

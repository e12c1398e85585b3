"""Errors the ledger raises, each carrying a message, a hint and an exit-code kind.

Hierarchy::

    FloeError                      root; never raised itself
    ├── UsageError                 2  bad flags, bad manifest.yaml, bad tag names
    │   └── TagDeleteUnsupportedError  2  the registry cannot delete a tag alone
    ├── NotFoundError              3  artifact, version or tag not found
    ├── RegistryUnavailableError   5  registry unreachable, 5xx, TLS failure
    ├── SignatureError             6  signature verification failed
    ├── ConcurrencyError           7  lost an optimistic-concurrency race; safe to retry
    ├── GateFailedError            8  a validation gate failed
    ├── InvalidTransitionError     9  not the next environment on the path
    │   └── UnexplainedTagError    9  source tag floe has no record of (adopt it first)
    ├── TagExistsError            10  immutable tag already written
    │   └── TagImmutableError     10  the registry refused to move a tag it protects
    ├── NeverPromotedError        11  version was never promoted to that environment
    ├── UnauthorizedError         12  not allowed, credentials refused, or separation of duties
    ├── EnvironmentLockedError    13  environment is locked
    └── IntegrityError            14  ledger chain broken, or registry drift

The exit codes live in :class:`ExitCode`, the one table of them (docs/exit-codes.md says
what each means and what to do next); the CLI maps a :class:`FloeError` to its code in one
place.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar


class ExitCode(IntEnum):
    """Process exit codes (docs/exit-codes.md)."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_FOUND = 3
    REGISTRY_UNAVAILABLE = 5
    SIGNATURE = 6
    CONCURRENCY = 7
    GATE_FAILED = 8
    INVALID_TRANSITION = 9
    TAG_EXISTS = 10
    NEVER_PROMOTED = 11
    UNAUTHORIZED = 12
    LOCKED = 13
    INTEGRITY = 14


class FloeError(Exception):
    """Root of every error the ledger raises on purpose.

    Args:
        message: what went wrong, one sentence.
        hint: what the user can do next.
        details: machine-readable facts for the JSON output and the ledger.
        envelope: extra top-level fields of the command's JSON/YAML failure document,
            printed beside ``success``, ``trace_id`` and ``error`` (``floe platform promote``
            keeps its ``gate_results`` there, ``floe audit verify`` its whole report);
            None adds nothing. Never stored in the ledger.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.UNEXPECTED
    code: ClassVar[str] = "unexpected"

    def __init__(self, message: str, *, hint: str = "", details: dict[str, Any] | None = None,
                 envelope: dict[str, object] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details: dict[str, Any] = dict(details or {})
        self.envelope = envelope

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "hint": self.hint}
        if self.details:
            out["details"] = self.details
        return out


class UsageError(FloeError):
    exit_code = ExitCode.USAGE
    code = "usage"


class ConfigError(UsageError):
    code = "config"


class TagDeleteUnsupportedError(UsageError):
    """The registry cannot delete a tag without deleting its manifest (and every other tag of
    it), or does not delete tags at all: ``floe gc`` stops before deleting anything."""

    code = "tag_delete_unsupported"


class NotFoundError(FloeError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class RegistryUnavailableError(FloeError):
    exit_code = ExitCode.REGISTRY_UNAVAILABLE
    code = "registry_unavailable"


class SignatureError(FloeError):
    exit_code = ExitCode.SIGNATURE
    code = "signature_verification_failed"


class ConcurrencyError(FloeError):
    exit_code = ExitCode.CONCURRENCY
    code = "concurrent_modification"


class GateFailedError(FloeError):
    exit_code = ExitCode.GATE_FAILED
    code = "gate_failed"


class InvalidTransitionError(FloeError):
    exit_code = ExitCode.INVALID_TRANSITION
    code = "invalid_transition"


class UnexplainedTagError(InvalidTransitionError):
    """An environment tag no floe record explains is not evidence the version passed it."""

    code = "unexplained_tag"


class TagExistsError(FloeError):
    exit_code = ExitCode.TAG_EXISTS
    code = "tag_exists"


class TagImmutableError(TagExistsError):
    """The registry refused to move a tag because a tag-immutability rule protects it."""

    code = "tag_immutable"


class NeverPromotedError(FloeError):
    exit_code = ExitCode.NEVER_PROMOTED
    code = "version_not_promoted"


class UnauthorizedError(FloeError):
    exit_code = ExitCode.UNAUTHORIZED
    code = "unauthorized"


class EnvironmentLockedError(FloeError):
    exit_code = ExitCode.LOCKED
    code = "environment_locked"


class IntegrityError(FloeError):
    exit_code = ExitCode.INTEGRITY
    code = "integrity"


ERRORS_BY_CODE: dict[str, type[FloeError]] = {
    cls.code: cls
    for cls in (
        FloeError, UsageError, ConfigError, NotFoundError, RegistryUnavailableError,
        SignatureError, ConcurrencyError, GateFailedError, InvalidTransitionError,
        TagExistsError, TagImmutableError, TagDeleteUnsupportedError, NeverPromotedError,
        UnauthorizedError, EnvironmentLockedError, IntegrityError,
    )
}


def quoted(value: str, limit: int = 100) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters with the full
    length noted: a 10 000-character argument still makes a one-line message."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"

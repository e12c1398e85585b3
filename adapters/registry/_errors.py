"""Translate registry error answers into ledger errors, quoting the registry's code (and
the rate limit a persistent 429 hit); the transport's own errors are in ``_http_errors``.

The registry's message is text floe did not write: it is scrubbed (known secrets, such as
the credentials just sent, and credential shapes) before any error quotes it.
"""

from __future__ import annotations

import httpx

from floe_ledger.adapters.observability.redact import scrub
from floe_ledger.domain.model.errors import (
    FloeError,
    IntegrityError,
    NotFoundError,
    RegistryUnavailableError,
    TagDeleteUnsupportedError,
    TagExistsError,
    TagImmutableError,
    UnauthorizedError,
    UsageError,
)

_USAGE_CODES = {"NAME_INVALID", "TAG_INVALID", "UNSUPPORTED", "PAGINATION_NUMBER_INVALID"}
_CONTENT_CODES = {"MANIFEST_INVALID", "DIGEST_INVALID", "SIZE_INVALID", "BLOB_UPLOAD_INVALID"}


def error_code(response: httpx.Response) -> tuple[str, str]:
    """The first ``errors[]`` code and message of a registry answer (or ``("", "")``)."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return str(first.get("code", "")), scrub(str(first.get("message", "")))
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", ""


IMMUTABLE_HINT = (
    "floe moves latest-<env> (promote, rollback), its one floe-<env>-index tag per environment "
    "and the sha256-<hex> referrers fallback indexes on every write; exclude those from the "
    "registry's tag-immutability rule (keep it on <version> and <version>-<env> tags) or turn "
    "immutability off for this repository, then run the same command again: an interrupted "
    "promotion resumes (docs/exit-codes.md, exit 10)")
_IMMUTABLE_STATUS = frozenset({400, 403, 405, 409, 412})


def immutable_refusal(response: httpx.Response) -> bool:
    """Whether a refused manifest PUT says the tag is protected by an immutability rule
    (ECR: 400 TAG_INVALID "...cannot be overwritten because the repository is immutable";
    Harbor: 412 "configured as immutable"; others 409 or 403 naming immutability)."""
    code, message = error_code(response)
    if response.status_code == 409:
        return True
    text = f"{code} {message}".lower()
    return response.status_code in _IMMUTABLE_STATUS and (
        "immutable" in text or "cannot be overwritten" in text)


def tag_refused(response: httpx.Response, tag: str, repository: str) -> TagImmutableError:
    """The error for a PUT of ``tag`` refused by the registry's tag-immutability rule."""
    code, message = error_code(response)
    said = f"{code}: {message}" if code else f"HTTP {response.status_code}"
    return TagImmutableError(
        f"{repository} refused to move tag {tag}: the registry protects it as immutable "
        f"(registry answered {said})", hint=IMMUTABLE_HINT,
        details={"tag": tag, "status": response.status_code, "registry_code": code,
                 "repository": repository})


def delete_refused(response: httpx.Response, tag: str, repository: str) -> FloeError:
    """The error for a refused ``DELETE /v2/<name>/manifests/<tag>``.

    distribution 2.x answers 400 DIGEST_INVALID (it deletes manifests by digest only, which
    would remove every tag of the manifest) or 405 UNSUPPORTED (``storage.delete.enabled``
    off): both mean the tag cannot be deleted on its own, and nothing was deleted. So does
    a 404 for a tag that is still there (the registry has no such operation).
    """
    code, message = error_code(response)
    status = response.status_code
    if status in (400, 404, 405, 501) or code in ("UNSUPPORTED", "DIGEST_INVALID"):
        said = f"{code}: {message}" if code else f"HTTP {status}"
        return TagDeleteUnsupportedError(
            f"{repository} cannot delete tag {tag} on its own (registry answered {said}): "
            "nothing was deleted",
            hint="this registry deletes manifests by digest only, which would remove every "
            "tag of the manifest (its version and other environment tags too), so floe never "
            "does that. Use a registry that implements the OCI spec's tag deletion "
            "(DELETE /v2/<name>/manifests/<tag>: distribution 3, zot) or an oci-layout "
            "directory, or the registry's own retention rules with 'floe gc --dry-run' listing "
            "what may go (docs/exit-codes.md, exit 2)",
            details={"tag": tag, "status": status, "registry_code": code,
                     "repository": repository})
    return registry_error(response, f"DELETE tag {tag}", repository)


def registry_error(response: httpx.Response, what: str, repository: str) -> FloeError:
    """The ledger error for an unexpected registry answer to ``what``.

    Args:
        response: the registry's answer.
        what: the operation, e.g. ``"PUT manifest v1.2.3-staging"``.
        repository: the repository, for the message.

    Returns:
        The error to raise (NotFoundError for missing content, UnauthorizedError for
        DENIED, TagExistsError for immutable tags, UsageError for invalid names,
        IntegrityError for refused content, RegistryUnavailableError otherwise).
    """
    code, message = error_code(response)
    status = response.status_code
    said = f"{code}: {message}" if code else f"HTTP {status}"
    text = f"{what} in {repository} failed: registry answered {said}"
    details = {"status": status, "registry_code": code, "repository": repository}
    if "immutable" in message.lower() or status == 409:
        return TagExistsError(text, hint="the registry protects this tag", details=details)
    if status == 404 or code.endswith("_UNKNOWN"):
        return NotFoundError(
            text, hint="push the missing content first (or check the reference)", details=details
        )
    if code in ("DENIED", "UNAUTHORIZED"):
        return UnauthorizedError(text, hint="check the credential's permissions", details=details)
    if code in _USAGE_CODES:
        return UsageError(text, hint="check the tag or repository name", details=details)
    if code in _CONTENT_CODES:
        return IntegrityError(text, hint="the registry refused the content", details=details)
    if status == 400 and not code and response.url.scheme == "http":
        # Go's TLS listener answers plain http with a bare 400 (no registry error body).
        return RegistryUnavailableError(
            f"{what}: {response.url.host} answered plain http with HTTP 400; "
            "it probably speaks https, but plain_http is set",
            hint="unset plain_http (and set ca_file for a private CA)",
            details=details,
        )
    return RegistryUnavailableError(
        text, hint="check the registry's logs and artifacts.registry.uri", details=details
    )


RATE_LIMIT_HINT = (
    "the registry is rate-limiting floe (HTTP 429); wait and re-run, or raise the "
    "registry's rate limit for this client or credential"
)


def rate_limited(host: str, problem: str, asked: float, most: float,
                 attempts: int) -> RegistryUnavailableError:
    """A 429 that persisted, or asked for a longer pause than floe waits (exit 5)."""
    waited = f"; it asks floe to wait {asked:g} s" if asked else ""
    return RegistryUnavailableError(
        f"registry {host} is rate-limiting floe ({problem}){waited}; floe waits at most "
        f"{most:g} s between at most {attempts} attempts",
        hint=RATE_LIMIT_HINT,
        details={"host": host, "problem": problem, "retry_after": asked, "rate_limited": True},
    )


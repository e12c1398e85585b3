"""The errors the registry transport raises when an answer cannot be used (exit 5 or 14).

Each names the host and the request path, never a URL's query or credentials.
"""

from __future__ import annotations

import ssl
from typing import TypeVar

import httpx

from floe_ledger.adapters.system.net import ResponseTooLargeError, ResponseTooSlowError
from floe_ledger.domain.model.errors import (
    FloeError,
    IntegrityError,
    RegistryUnavailableError,
)

E = TypeVar("E", bound=FloeError)


def _refused(cls: type[E], host: str, method: str, url: httpx.URL, what: str, hint: str,
             **facts: object) -> E:
    """``cls`` saying that ``method`` on ``url`` of ``host`` got an answer that ``what``."""
    return cls(f"{method} {url.path} on {host}: {what}", hint=hint,
               details={"host": host, "path": url.path, **facts})


def larger_than_said(host: str, url: httpx.URL, exc: ResponseTooLargeError) -> IntegrityError:
    """A body streamed into a file is larger than the size it must have (exit 14)."""
    said = f"announced {exc.announced} bytes" if exc.announced else "sent more"
    return _refused(
        IntegrityError, host, "GET", url,
        f"the content is larger than the {exc.limit} bytes its descriptor says ({said})",
        "the registry returned other content than the manifest describes; check "
        "for a proxy or a corrupted registry store", size=exc.limit)


def too_slow(
    host: str, method: str, url: httpx.URL, exc: ResponseTooSlowError
) -> RegistryUnavailableError:
    """A body that did not arrive whole before its deadline (exit 5)."""
    return _refused(
        RegistryUnavailableError, host, method, url,
        f"the answer was not complete after {exc.seconds:g} s ({exc.received} bytes received)",
        "the registry (or a proxy in front of it) is too slow or stalling; check it and re-run",
        seconds=exc.seconds)


def undeliverable(
    host: str, method: str, url: httpx.URL, exc: httpx.HTTPError
) -> RegistryUnavailableError:
    """A redirect loop or a body that cannot be decoded (exit 5)."""
    why = ("redirects in a loop (more than 20 hops)"
           if isinstance(exc, httpx.TooManyRedirects)
           else "sent a body that cannot be decoded (its Content-Encoding is wrong)")
    return _refused(RegistryUnavailableError, host, method, url, f"the registry {why}",
                    "check the registry and any proxy or CDN in front of it",
                    problem=type(exc).__name__)


def too_large(
    host: str, method: str, url: httpx.URL, exc: ResponseTooLargeError
) -> RegistryUnavailableError:
    """An answer larger than its cap (exit 5)."""
    said = f"announced {exc.announced} bytes" if exc.announced else "sent more"
    return _refused(
        RegistryUnavailableError, host, method, url,
        f"the answer is larger than floe accepts ({said}; the limit is {exc.limit} bytes)",
        "a registry answer this large is refused so it cannot exhaust memory; "
        "check the registry (the limits are in docs/conventions.md)", limit=exc.limit)


def tls_error(host: str, exc: httpx.TransportError) -> RegistryUnavailableError:
    """A TLS handshake that failed (exit 5)."""
    return RegistryUnavailableError(
        f"TLS handshake with {host} failed: {exc}",
        hint="if the registry uses a private CA, set ca_file; if it speaks plain http, "
        "set plain_http",
        details={"host": host},
    )


def is_tls_failure(exc: BaseException) -> bool:
    """Whether a transport error is (caused by) a TLS failure."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or "WRONG_VERSION_NUMBER" in str(exc)

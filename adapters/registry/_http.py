"""One kept-alive HTTP client per registry, with bounded retries and registry auth.

Retries: 3 attempts (pauses 0.2 s, 0.6 s) on 5xx, 429 and connection/timeout errors
only, then RegistryUnavailableError (exit 5). A 429's ``Retry-After`` is honoured: the pause
is what it asks, up to :data:`RETRY_AFTER_MAX_S`; one that asks for more ends the command at
once (exit 5, the hint names the rate limit). A request with no answer for ``timeout``
seconds (``artifacts.registry.timeout_seconds``, default 30) counts as a connection error.

Auth (:mod:`._http_auth`): on a 401 the ``WWW-Authenticate`` challenge decides: Basic →
resend with the credentials; Bearer → fetch a token from the realm (service, scope
``repository:<name>:pull,push``), cache it, resend.

Where credentials go (security review §8): the Authorization header is only ever sent to
the registry's own origin (scheme, host, port). A ``Location`` or ``Link`` URL on another
origin is refused (RegistryUnavailableError, exit 5); a blob download redirected elsewhere
is followed without it (httpx drops it). Credentials go to a token realm only over https,
or over http when the registry itself is plain http and the realm is on its host, on
loopback or on an ``insecure_registries`` host; otherwise UnauthorizedError (exit 12).

Sizes (security review §18): every body is streamed and refused past a cap
(RegistryUnavailableError, exit 5): manifests :data:`MANIFEST_MAX_BYTES`, JSON answers
(token, tag-list and referrers pages, errors) :data:`JSON_MAX_BYTES`, a blob read into
memory :data:`BLOB_MAX_BYTES`. A blob streamed into a file (``sink``) is refused past the
size it must have (IntegrityError, exit 14). Time: each read waits at most 30 s, and a
whole body at most :data:`BODY_DEADLINE_S` (a server that drips its answer is cut off);
redirect loops end after 20 hops; an answer that cannot be decoded is refused (exit 5).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from floe_ledger.adapters.registry._errors import rate_limited
from floe_ledger.adapters.registry._http_auth import ChallengeAuth, CredentialSource
from floe_ledger.adapters.registry._http_errors import (
    is_tls_failure,
    larger_than_said,
    tls_error,
    too_large,
    too_slow,
    undeliverable,
)
from floe_ledger.adapters.registry.auth import Credentials
from floe_ledger.adapters.system.net import (
    MIB,
    ResponseTooLargeError,
    ResponseTooSlowError,
    display_origin,
    origin,
    read_capped,
    retry_after_seconds,
)
from floe_ledger.domain.model.errors import RegistryUnavailableError

BACKOFF_S = (0.2, 0.6)
DEFAULT_TIMEOUT_S = 30.0  # seconds without an answer (artifacts.registry.timeout_seconds)
CONNECT_TIMEOUT_S = 3.0
RETRY_AFTER_MAX_S = 5.0  # the longest Retry-After floe waits for before a retry

MANIFEST_MAX_BYTES = 4 * MIB  # the distribution spec's limit for a manifest
JSON_MAX_BYTES = 4 * MIB  # a token answer, a tag-list or referrers page, an error body
BLOB_MAX_BYTES = 64 * MIB  # a blob floe reads into memory (records, signatures, configs);
# replicas and pulls stream blobs of any size (adapters/registry/_blob_stream.py)
BODY_DEADLINE_S = 120.0  # the longest a whole answer body may take to arrive

class RegistryHttp:
    """HTTP transport for one repository: lazy client, retries, Basic and Bearer auth."""

    def __init__(
        self,
        *,
        host: str,
        repository: str,
        credentials: CredentialSource,
        plain_http: bool = False,
        ca_file: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        insecure_hosts: frozenset[str] = frozenset(),
        body_deadline_s: float = BODY_DEADLINE_S,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.body_deadline_s = body_deadline_s
        self._timeout = httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_S, timeout))
        self.base_url = f"{'http' if plain_http else 'https'}://{host}"
        self._origin = origin(httpx.URL(self.base_url))
        self.host = host
        self.repository = repository
        self._auth = ChallengeAuth(host=host, repository=repository, base_url=self.base_url,
                                   credentials=credentials, insecure_hosts=insecure_hosts,
                                   send=self.send_with_retries)
        self._plain_http = plain_http
        self._ca_file = ca_file
        self._transport = transport
        self._sleep = sleep
        self._client: httpx.Client | None = None
        self.accepted_user: str | None = None
        # Requests may run on several threads at once (adapters/system/parallel.py): one
        # client is made, and one thread at a time answers an auth challenge.
        self._client_lock = threading.Lock()
        self._auth_lock = threading.Lock()

    @property
    def credentials(self) -> Credentials | None:
        """The credentials for this host (looked up once, on first need)."""
        return self._auth.credentials

    def client(self) -> httpx.Client:
        """The one httpx client of this registry, created on first use."""
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(
                    timeout=self._timeout, verify=self._ssl_context(),
                    transport=self._transport, trust_env=False,
                    headers={"User-Agent": "floe-ledger"},
                )
            return self._client

    def _ssl_context(self) -> ssl.SSLContext:
        if self._plain_http:
            # Never used for http:// URLs; cheap, and fails closed for any https realm.
            return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self._ca_file is not None:
            return ssl.create_default_context(cafile=str(self._ca_file))
        return ssl.create_default_context()

    def close(self) -> None:
        """Close the client (it is recreated if used again)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        params: Mapping[str, str] | None = None,
        scopes: tuple[str, ...] = (),
        follow_redirects: bool = False,
        max_bytes: int = JSON_MAX_BYTES,
        sink: BinaryIO | None = None,
        stream: bool = False,
        once: bool = False,
    ) -> httpx.Response:
        """Send a request, answering auth challenges once; 401/403 → UnauthorizedError.

        Args:
            method: HTTP method.
            url: absolute URL, or a path under the registry's base URL.
            headers: extra request headers.
            content: the request body.
            params: query parameters.
            scopes: extra token scopes (e.g. pull on a mount source repository).
            follow_redirects: follow redirects (blob downloads).
            max_bytes: the largest body accepted (RegistryUnavailableError past it); with
                ``sink``, the size a 200 answer's body must not exceed.
            sink: a binary file a 200 answer's body is streamed into (not kept in memory;
                rewritten from the start on a retry). Other answers are read as usual.
            stream: a 200 answer is returned with its body unread (the caller iterates and
                closes it: a blob streamed to another registry). Other answers are read.
            once: send one attempt only, and on a 401 answer the challenge but return the
                401 instead of resending (``content`` is a one-shot stream of chunks: the
                caller starts over with a fresh one).

        Returns:
            The response, whatever its status other than 401/403.

        Raises:
            RegistryUnavailableError: ``url`` is on another origin than the registry (a
                ``Location`` or ``Link`` the registry sent) or is not a URL, or the body
                is too large, too slow or undecodable.
            IntegrityError: a body streamed into ``sink`` is larger than ``max_bytes``.
        """
        try:
            target = httpx.URL(self.base_url).join(url)
        except httpx.InvalidURL:
            raise RegistryUnavailableError(
                f"registry {self.host} sent floe to a URL that is not one",
                hint="the registry's Location or Link URLs are malformed; check the registry "
                "and any proxy in front of it",
                details={"host": self.host},
            ) from None
        if origin(target) != self._origin:
            raise RegistryUnavailableError(
                f"registry {self.host} sent floe to {display_origin(target)}, another origin; "
                "floe sends requests (and credentials) only to the registry's own origin",
                hint="the registry's Location or Link URLs must stay on its own scheme, host "
                "and port; check artifacts.registry.uri and any proxy in front of the registry",
                details={"host": self.host, "origin": display_origin(target)},
            )
        send: dict[str, Any] = {
            "headers": dict(headers or {}), "content": content, "params": params,
            "follow_redirects": follow_redirects, "max_bytes": max_bytes, "sink": sink,
            "stream": stream, "attempts": 1 if once else len(BACKOFF_S) + 1,
        }
        sent_with = self._auth.header
        response = self._send(method, target, **send)
        if response.status_code == 401:
            with self._auth_lock:  # unless another thread answered it meanwhile
                if scopes or self._auth.header == sent_with:
                    self._auth.answer(response, scopes)
            if once:
                return response
            response = self._send(method, target, **send)
        if response.status_code in (401, 403):
            raise self._auth.refused(response)
        if self._auth.uses_credentials and self.credentials is not None:
            self.accepted_user = self.credentials.display_user
        return response

    def _send(self, method: str, url: httpx.URL, **kwargs: Any) -> httpx.Response:
        if self._auth.header is not None:
            kwargs["headers"] = {**kwargs["headers"], "Authorization": self._auth.header}
        return self.send_with_retries(method, url, **kwargs)

    def send_with_retries(
        self, method: str, url: httpx.URL, *, follow_redirects: bool = False,
        max_bytes: int = JSON_MAX_BYTES, sink: BinaryIO | None = None, stream: bool = False,
        attempts: int = len(BACKOFF_S) + 1, **kwargs: Any,
    ) -> httpx.Response:
        """Send, retrying 5xx, 429 and connection errors; RegistryUnavailableError at the end.

        The body is streamed and read up to ``max_bytes`` within :data:`BODY_DEADLINE_S`
        (a HEAD's Content-Length is the resource's, not a body, so it is not checked); a
        200 answer's body goes into ``sink`` when one is given, or is left unread with
        ``stream``.
        """
        problem, asked = "", None
        client = self.client()
        for attempt in range(attempts):
            if attempt:
                self._sleep(max(BACKOFF_S[attempt - 1], asked or 0.0))
            asked = None
            try:
                request = client.build_request(method, url, **kwargs)
                response = client.send(request, stream=True, follow_redirects=follow_redirects)
                if not (stream and response.status_code == 200):
                    self._read_body(method, response, max_bytes, sink)
            except ResponseTooLargeError as exc:
                if sink is not None and response.status_code == 200:
                    raise larger_than_said(self.host, url, exc) from None
                raise too_large(self.host, method, url, exc) from None
            except ResponseTooSlowError as exc:
                raise too_slow(self.host, method, url, exc) from None
            except (httpx.TooManyRedirects, httpx.DecodingError) as exc:
                raise undeliverable(self.host, method, url, exc) from None
            except httpx.TransportError as exc:
                if is_tls_failure(exc):
                    raise tls_error(self.host, exc) from None
                problem = f"{type(exc).__name__}: {exc}"
                continue
            problem = f"HTTP {response.status_code} on {method} {url.path}"
            if response.status_code == 429:
                asked = self._retry_after(response, method, url)
            elif response.status_code < 500:
                return response
        if asked is not None:
            raise rate_limited(self.host, problem, asked, RETRY_AFTER_MAX_S, attempts)
        raise RegistryUnavailableError(
            f"registry {self.host} is unavailable after {attempts} attempt"
            f"{'s' if attempts > 1 else ''} ({problem})",
            hint="is the registry running and reachable? check artifacts.registry.uri "
            "and plain_http (http vs https)",
            details={"host": self.host, "problem": problem},
        )

    def _retry_after(self, response: httpx.Response, method: str, url: httpx.URL) -> float:
        """The pause a 429 asks for (0 without a Retry-After); more than floe waits → exit 5."""
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is not None and asked > RETRY_AFTER_MAX_S:
            raise rate_limited(self.host, f"HTTP 429 on {method} {url.path}", asked,
                               RETRY_AFTER_MAX_S, len(BACKOFF_S) + 1)
        return asked or 0.0

    def _read_body(self, method: str, response: httpx.Response, max_bytes: int,
                   sink: BinaryIO | None) -> None:
        if method == "HEAD":
            response.read()  # no body; its Content-Length is the resource's
        elif sink is not None and response.status_code == 200:
            sink.seek(0)
            sink.truncate()
            read_capped(response, max_bytes, deadline_s=self.body_deadline_s, sink=sink)
        else:
            limit = min(max_bytes, JSON_MAX_BYTES) if sink is not None else max_bytes
            read_capped(response, limit, deadline_s=self.body_deadline_s)

"""Registry auth for one repository's transport: the answer to a 401's challenge.

The ``WWW-Authenticate`` challenge decides: Basic → resend with the credentials; Bearer →
fetch a token from the realm (service, scope ``repository:<name>:pull,push``, and any the
challenge or the caller adds), then resend with it.

Credentials go to a token realm only over https, or over http when the registry itself is
plain http and the realm is on its host, on loopback or on an ``insecure_registries`` host
(:func:`~floe_ledger.adapters.registry.auth.check_realm`); otherwise UnauthorizedError
(exit 12).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from floe_ledger.adapters.registry.auth import Credentials, check_realm
from floe_ledger.domain.model.errors import UnauthorizedError

AUTH_HINT = (
    "check docker config.json (DOCKER_CONFIG) or FLOE_REGISTRY_USERNAME/FLOE_REGISTRY_PASSWORD"
)
_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')

CredentialSource = Callable[[], Credentials | None]
Send = Callable[..., httpx.Response]  # RegistryHttp.send_with_retries


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split ``Bearer realm="...",service="..."`` into (``bearer``, params)."""
    scheme, _, rest = header.strip().partition(" ")
    params = {m[1].lower(): m[2] if m[2] else m[3] for m in _PARAM_RE.finditer(rest)}
    return scheme.lower(), params


class ChallengeAuth:
    """The Authorization header of one repository's requests, earned by answering challenges.

    ``header`` is None until a challenge was answered; ``uses_credentials`` says whether the
    header was earned with the credentials (not anonymously).
    """

    def __init__(self, *, host: str, repository: str, base_url: str,
                 credentials: CredentialSource, insecure_hosts: frozenset[str],
                 send: Send) -> None:
        self.host = host
        self.repository = repository
        self._base_url = base_url
        self._credential_source = credentials
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self._insecure_hosts = frozenset(h.lower() for h in insecure_hosts)
        self._send = send
        self._scopes: set[str] = {f"repository:{repository}:pull,push"}
        self.header: str | None = None
        self.uses_credentials = False

    @property
    def credentials(self) -> Credentials | None:
        """The credentials for this host (looked up once, on first need)."""
        if not self._credentials_loaded:
            self._credentials = self._credential_source()
            self._credentials_loaded = True
        return self._credentials

    def answer(self, response: httpx.Response, scopes: tuple[str, ...]) -> None:
        """Earn ``header`` for the 401 ``response``; UnauthorizedError when it cannot be."""
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        creds = self.credentials
        if scheme == "basic":
            if creds is None or self.uses_credentials:
                raise self.refused(response)
            self.header, self.uses_credentials = creds.basic_header(), True
        elif scheme == "bearer" and params.get("realm"):
            registry = httpx.URL(self._base_url)
            realm = registry.join(params["realm"])
            if creds is not None:
                check_realm(realm, registry_scheme=registry.scheme, registry_host=self.host,
                            insecure_hosts=self._insecure_hosts)
            # Always fetch afresh: the cached token may have expired or lack a scope.
            wanted = self._scopes | set(scopes) | set(params.get("scope", "").split())
            self._scopes = {s for s in wanted if s}
            self.header = "Bearer " + self._fetch_token(realm, params, creds)
            self.uses_credentials = creds is not None
        else:
            raise self.refused(response)

    def _fetch_token(
        self, url: httpx.URL, params: dict[str, str], creds: Credentials | None
    ) -> str:
        query: list[tuple[str, str]] = [("scope", s) for s in sorted(self._scopes)]
        if params.get("service"):
            query.insert(0, ("service", params["service"]))
        if creds is not None and creds.identity_token:
            form = dict(query) | {"grant_type": "refresh_token", "client_id": "floe-ledger",
                                  "refresh_token": creds.identity_token}
            form["scope"] = " ".join(sorted(self._scopes))
            response = self._send("POST", url, headers={}, data=form)
        else:
            headers = {"Authorization": creds.basic_header()} if creds else {}
            response = self._send("GET", url, headers=headers, params=query)
        if response.status_code != 200:
            raise self.refused(response, token_service=True)
        try:
            body = response.json()
            return str(body.get("token") or body["access_token"])
        except (ValueError, KeyError, AttributeError):
            raise UnauthorizedError(
                f"the token service of {self.host} answered without a token", hint=AUTH_HINT
            ) from None

    def refused(
        self, response: httpx.Response, *, token_service: bool = False
    ) -> UnauthorizedError:
        """The registry (or its token service) refused these credentials (exit 12)."""
        creds = self._credentials
        who = f"user {creds.username!r}" if creds else "anonymous access"
        where = "token service" if token_service else "registry"
        return UnauthorizedError(
            f"{where} {self.host} refused {who} for {self.repository} "
            f"(HTTP {response.status_code})",
            hint=AUTH_HINT,
            details={"host": self.host, "status": response.status_code},
        )

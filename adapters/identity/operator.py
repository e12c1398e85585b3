"""Who the operator is (FR-045): from credentials, never from a flag.

In order: an OIDC ID token in ``FLOE_OIDC_TOKEN`` verified against
``artifacts.identity.oidc`` (issuer, audience, JWKS URL or file); else the username of
the registry credential, once the registry has accepted it; else the local user,
marked unauthenticated. Groups come from the token's groups claim and from
``artifacts.identity.groups`` in manifest.yaml.

``jwks_url`` must be https (plain http only to a loopback host); anything else is a
ConfigError, since whoever answers an http JWKS URL chooses the keys tokens are checked
against. The JWKS document is read up to :data:`JWKS_MAX_BYTES` (security review §18).
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from floe_ledger.adapters.observability.redact import register_secret
from floe_ledger.adapters.system.files import FileTooLargeError, read_limited
from floe_ledger.adapters.system.net import MIB, ResponseTooLargeError, is_loopback, read_capped
from floe_ledger.domain.model.config import IdentityConfig, OidcConfig
from floe_ledger.domain.model.errors import ConfigError, UnauthorizedError, quoted
from floe_ledger.domain.model.identity import Operator
from floe_ledger.domain.services.ports import Registry

JWKS_MAX_BYTES = 1 * MIB
JWKS_TIMEOUT_S = 5
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]


def resolve_operator(config: IdentityConfig, env: Mapping[str, str], *,
                     registry: Callable[[], Registry] | None = None,
                     base_dir: Path | None = None) -> Operator:
    """The operator for this run; a token that is present but invalid is an error (exit 12)."""
    token = env.get("FLOE_OIDC_TOKEN")
    if token:
        register_secret(token)  # masked in every log line and scrubbed text of this run
        return _from_oidc(token, config, base_dir or Path.cwd())
    if registry is not None:
        user = registry().authenticated_user()  # checks the credential once, if there is one
        user = _text(user) if user else user
        if user:
            return Operator(name=user, source="registry", authenticated=True,
                            groups=tuple(config.groups.get(user, [])),
                            issuer=_host(registry().uri), subject=user)
    name = _text(env.get("USER") or env.get("LOGNAME") or _getuser())
    return Operator(name=name, source="local", authenticated=False,
                    groups=tuple(config.groups.get(name, [])))


def _from_oidc(token: str, config: IdentityConfig, base_dir: Path) -> Operator:
    if config.oidc is None:
        raise ConfigError(
            "FLOE_OIDC_TOKEN is set but artifacts.identity.oidc is not configured",
            hint="configure issuer, audience and jwks_url or jwks_file, or unset FLOE_OIDC_TOKEN",
        )
    claims = {key: _text(v) if isinstance(v, str) else v
              for key, v in verify_id_token(token, config.oidc, base_dir).items()}
    # An email address the IdP has not verified is whatever the user typed: never a name.
    email = str(claims["email"]) if claims.get("email") and claims.get(
        "email_verified") is True else None
    name = str(email or claims.get("sub") or "")
    if not name:
        raise UnauthorizedError("the OIDC token has neither an email nor a sub claim",
                                hint="use an ID token that names its subject (sub)")
    raw_groups = claims.get(config.oidc.groups_claim) or []
    groups = [_text(str(g)) for g in raw_groups] if isinstance(raw_groups, list) else [
        _text(str(raw_groups))]
    groups += [g for g in config.groups.get(name, []) if g not in groups]
    return Operator(name=name, source="oidc", authenticated=True, groups=tuple(groups),
                    email=email, issuer=str(claims.get("iss") or ""),
                    subject=str(claims.get("sub") or name))


def _text(value: str) -> str:
    """``value`` as valid Unicode: a lone surrogate (a USER of bytes that are not UTF-8, a
    JSON ``\\udcff`` escape) becomes U+FFFD, since the ledger hashes UTF-8."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _host(uri: str) -> str:
    """The registry host of ``oci://host/repo`` (what a registry username is scoped to)."""
    return uri.removeprefix("oci://").split("/", 1)[0]


def verify_id_token(token: str, oidc: OidcConfig, base_dir: Path) -> dict[str, Any]:
    """Verify signature, issuer, audience and expiry; return the claims."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
        key = _signing_key(header.get("kid"), oidc, base_dir)
        # The PyJWK, not its key: the token's alg must then be the key's own (an ES256
        # header over an RSA key is refused, not handed to the wrong verifier).
        claims: dict[str, Any] = jwt.decode(
            token, key=key, algorithms=ALGORITHMS, audience=oidc.audience, issuer=oidc.issuer,
            options={"require": ["exp", "iss", "aud"]}, leeway=30,
        )
    except jwt.PyJWTError as err:
        raise _refused(f"{err}", oidc) from None
    except RecursionError:  # a header or payload of JSON nested thousands deep
        raise _refused("its JSON is nested too deeply", oidc) from None
    return claims


def _refused(why: str, oidc: OidcConfig) -> UnauthorizedError:
    """Exit 12 saying why, never quoting the token."""
    return UnauthorizedError(
        f"FLOE_OIDC_TOKEN was refused: {why[:300]}",
        hint=f"get a fresh ID token from {oidc.issuer} with audience {oidc.audience}",
    )


def _signing_key(kid: str | None, oidc: OidcConfig, base_dir: Path) -> Any:
    import jwt

    if oidc.jwks_file:
        path = Path(oidc.jwks_file)
        path = path if path.is_absolute() else base_dir / path
        try:
            text = read_limited(path, JWKS_MAX_BYTES).decode("utf-8", errors="replace")
        except FileTooLargeError:
            raise jwt.PyJWKError(f"{path} is larger than {JWKS_MAX_BYTES} bytes") from None
        except OSError as err:
            raise ConfigError(f"artifacts.identity.oidc.jwks_file {path}: {err.strerror}") from None
        where = str(path)
    else:
        assert oidc.jwks_url is not None
        text, where = _fetch_jwks(oidc.jwks_url), oidc.jwks_url
    try:
        jwks = jwt.PyJWKSet.from_json(text)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as err:
        raise jwt.PyJWKError(f"{where} is not a JWK set ({type(err).__name__})") from None
    keys = [k for k in jwks.keys if kid is None or k.key_id == kid]
    if not keys:
        raise jwt.PyJWKError(f"no key with kid {quoted(str(kid), 40)} in {where}")
    return keys[0]


def check_jwks_url(url: str) -> None:
    """https, or http to a loopback host (a local test IdP); else ConfigError."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = httpx.URL("invalid:")
    if parsed.scheme == "https" and parsed.host:
        return
    if parsed.scheme == "http" and is_loopback(parsed.host):
        return
    raise ConfigError(
        f"artifacts.identity.oidc.jwks_url must be an https URL (got {parsed.scheme or '?'}://"
        f"{parsed.host or '?'}): whoever answers it chooses the keys tokens are checked against",
        hint="use the issuer's https JWKS URL, or jwks_file with a copy of the keys "
        "(plain http is accepted only for a loopback test IdP)",
        details={"key": "artifacts.identity.oidc.jwks_url"},
    )


def _fetch_jwks(url: str) -> str:
    """The JWKS document at ``url``, at most JWKS_MAX_BYTES; failures are PyJWKErrors."""
    import httpx
    import jwt

    check_jwks_url(url)
    try:
        with httpx.Client(timeout=JWKS_TIMEOUT_S, trust_env=False) as client:
            response = client.send(client.build_request("GET", url), stream=True)
            body = read_capped(response, JWKS_MAX_BYTES)
    except ResponseTooLargeError as err:
        raise jwt.PyJWKError(
            f"the JWKS at {url} is larger than {err.limit} bytes; refused"
        ) from None
    except httpx.HTTPError as err:
        raise jwt.PyJWKError(f"cannot fetch the JWKS at {url}: {type(err).__name__}") from None
    if response.status_code != 200:
        raise jwt.PyJWKError(f"the JWKS at {url} answered HTTP {response.status_code}")
    return body.decode("utf-8", errors="replace")


def _getuser() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def describe(operator: Operator) -> str:
    return json.dumps(operator.as_dict())

"""The one secret scrubber: log lines, gate output and anything else floe keeps or prints.

    register_secret(token)                 # masked wherever it shows up, in this process
    scrub("postgres://app:pw@db/x")        # 'postgres://[REDACTED]@db/x'
    scrub(text, extra=("hunter2",))        # these values too, for this call only
    secret_values(env)                     # values of env vars whose names look secret

Masked: registered and ``extra`` values (4 characters or more, longest first), URL
userinfo (``scheme://user:pass@``), ``Bearer``/``Basic`` credentials, ``token=...`` style
pairs, PEM ``PRIVATE KEY`` blocks (also when a tail cut their start or end) and the
well-known token shapes (GitHub ``ghp_``/``github_pat_``, GitLab ``glpat-``, AWS ``AKIA``,
Slack ``xox?-``, Stripe ``sk_live_``). Each becomes ``[REDACTED]``. No third-party
imports: gates use this without loading structlog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "[REDACTED]"
SECRET_NAME_MARKERS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")
"""An environment variable whose name contains one of these holds a secret (§9)."""

_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
    r"|\A(?:(?!-----BEGIN ).)*?-----END [A-Z0-9 ]*PRIVATE KEY-----", re.DOTALL)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*:[^/\s@]*@")
_AUTH = re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]{4,}")
_PAIR = re.compile(r"(?i)((?:password|passwd|token|secret|api[_-]?key)[\w-]*)=([^&\s,;\"']+)")
_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})")
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it is scrubbed from now on (values under 4 characters are not)."""
    if value and len(value) >= 4:
        _registered.add(value)


def looks_secret(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    upper = name.upper()
    return any(marker in upper for marker in SECRET_NAME_MARKERS)


def secret_values(env: Mapping[str, str]) -> set[str]:
    """The values (4 characters or more) of every variable in ``env`` whose name looks secret."""
    return {v for k, v in env.items() if looks_secret(k) and len(v) >= 4}


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with known secret values and credential shapes replaced by ``[REDACTED]``."""
    values = _registered.union(v for v in extra if v and len(v) >= 4)
    for secret in sorted(values, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _PEM.sub(REDACTED, text)
    text = _USERINFO.sub(lambda m: f"{m[1]}{REDACTED}@", text)
    text = _AUTH.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _PAIR.sub(lambda m: f"{m[1]}={REDACTED}", text)
    return _SHAPES.sub(REDACTED, text)


def scrub_data(value: object, extra: Iterable[str] = ()) -> object:
    """Every string inside ``value`` (dicts, lists, tuples; keys kept) scrubbed."""
    secrets = tuple(extra)
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, Mapping):
        return {k: scrub_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(v, secrets) for v in value]
    return value

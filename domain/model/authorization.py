"""Who may change an environment (FR-045..FR-053), decided from the operator's identity.

No ``authorization`` block: no check (the quickstart needs no login). A block with
empty lists: any *authenticated* operator. Otherwise the operator must be named in
``allowed_operators`` or belong to one of ``allowed_groups``, and be authenticated,
because a name nobody vouched for proves nothing. ``require_authenticated: false`` lets
a local user's name and ``identity.groups`` count without a credential.

``--break-glass`` (:func:`authorize_break_glass`) always needs an authenticated operator,
authorization block or not, and where groups are listed, membership in ``allowed_groups``
or ``break_glass_groups``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from floe_ledger.domain.model.config import AuthorizationConfig
from floe_ledger.domain.model.errors import UnauthorizedError
from floe_ledger.domain.model.identity import Operator


class SeparationOfDutiesError(UnauthorizedError):
    code = "separation_of_duties"


@dataclass(frozen=True)
class AuthorizationDecision:
    passed: bool
    via: str
    operator: str
    operator_groups: tuple[str, ...]
    required_groups: tuple[str, ...]
    required_operators: tuple[str, ...]
    principal: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"authorization_passed": self.passed, "authorized_via": self.via,
                "operator": self.operator, "operator_groups": list(self.operator_groups),
                "required_groups": list(self.required_groups),
                "required_operators": list(self.required_operators),
                "principal": self.principal}


def authorize(policy: AuthorizationConfig | None, operator: Operator, action: str,
              environment: str) -> AuthorizationDecision:
    """Decide, raising UnauthorizedError (exit 12) with what would have been required."""
    if policy is None:
        return AuthorizationDecision(True, "no-policy", operator.name, operator.groups, (), (),
                                     operator.principal)
    groups = tuple(policy.allowed_groups)
    names = tuple(policy.allowed_operators)

    def decision(passed: bool, via: str) -> AuthorizationDecision:
        return AuthorizationDecision(passed, via, operator.name, operator.groups, groups, names,
                                     operator.principal)

    if not operator.authenticated and policy.require_authenticated:
        raise _refusal(decision(False, "unauthenticated"), action, environment,
                       f"operator {operator.name} is not authenticated (identified by "
                       f"{identified_as(operator)})")
    if not groups and not names:
        known = "authenticated" if operator.authenticated else "unauthenticated"
        return decision(True, f"{known}:{operator.source}")
    if operator.name in names:
        return decision(True, f"operator:{operator.name}")
    shared = [g for g in operator.groups if g in groups]
    if shared:
        return decision(True, f"group:{shared[0]}")
    raise _refusal(decision(False, "denied"), action, environment,
                   f"operator {operator.name} (identified by {identified_as(operator)}) is "
                   f"not authorized to {action} {environment}")


def authorize_break_glass(policy: AuthorizationConfig | None, operator: Operator,
                          environment: str) -> AuthorizationDecision:
    """``--break-glass`` into ``environment``: an authenticated operator, always, and where
    the environment lists groups or operators, one of them or a ``break_glass_groups``
    member. Raises UnauthorizedError (exit 12); ``authorized_via`` starts ``break-glass:``.
    """
    base = policy or AuthorizationConfig()
    strict = base.model_copy(update={
        "require_authenticated": True,
        "allowed_groups": [*base.allowed_groups, *base.break_glass_groups]})
    decision = authorize(strict, operator, "break glass into", environment)
    return replace(decision, via=f"break-glass:{decision.via}")


def authorize_entry(policy: AuthorizationConfig | None, operator: Operator, action: str,
                    environment: str, *, break_glass: str | None) -> AuthorizationDecision:
    """:func:`authorize_break_glass` when ``break_glass`` is given, else :func:`authorize`."""
    if break_glass:
        return authorize_break_glass(policy, operator, environment)
    return authorize(policy, operator, action, environment)


_SOURCES = {"oidc": "a verified OIDC token", "registry": "a registry credential",
            "local": "the local user name, unauthenticated"}


def identified_as(operator: Operator) -> str:
    """How ``operator`` was identified, in words (``oidc`` → a verified OIDC token)."""
    return _SOURCES.get(operator.source, operator.source)


def _refusal(d: AuthorizationDecision, action: str, env: str, why: str) -> UnauthorizedError:
    options = [o for o in (_one_of("group", d.required_groups),
                           _one_of("operator", d.required_operators)) if o]
    either = ", or " if any(" or " in o for o in options) else " or "
    required = either.join(options) or "any authenticated operator"
    # Logging in helps only whom nobody vouched for; an identified operator needs the right.
    fix = ("authenticate with FLOE_OIDC_TOKEN or registry credentials (docker login)"
           if d.via == "unauthenticated" else
           f"'floe whoami' shows who floe takes you for: join a required group or have an "
           f"allowed operator {action} {env}")
    return UnauthorizedError(
        f"Unauthorized: {why}; required: {required}; {_groups_of(d)}",
        hint=f"{fix}; see environments[{env}].authorization in manifest.yaml",
        details=d.as_dict() | {"action": action, "environment": env},
    )


def _one_of(noun: str, names: tuple[str, ...]) -> str:
    """``group a``, ``one of the groups a or b``, ``one of the groups a, b or c`` ('' if none)."""
    if not names:
        return ""
    if len(names) == 1:
        return f"{noun} {names[0]}"
    return f"one of the {noun}s {join_words(names, 'or')}"


def _groups_of(d: AuthorizationDecision) -> str:
    """``alice is in group a`` / ``in groups a and b`` / ``in no group``."""
    groups = d.operator_groups
    if not groups:
        return f"{d.operator} is in no group"
    return f"{d.operator} is in group{'s' if len(groups) > 1 else ''} " \
        f"{join_words(groups, 'and')}"


def join_words(words: tuple[str, ...] | list[str], last: str) -> str:
    """``a``, ``a or b``, ``a, b or c`` (``last`` is the word before the last item)."""
    items = list(words)
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def check_separation_of_duties(policy: AuthorizationConfig | None, operator: Operator,
                               previous_operator: str | None, version: str, source: str | None,
                               target: str, previous_principal: str | None = None) -> None:
    """FR-051: who put ``version`` into the previous environment may not take it further.

    People are compared by principal (identity source, issuer, subject) where the previous
    promotion recorded one, else by name. Two different identity sources prove nothing about
    being two people (alice by OIDC, then alice by registry login), so under separation of
    duties both promotions must be identified the same way."""
    if policy is None or not policy.separation_of_duties or previous_operator is None:
        return
    details = {"operator": operator.name, "previous_environment": source,
               "previous_operator": previous_operator, "environment": target,
               "principal": operator.principal, "previous_principal": previous_principal}
    previous_source = (previous_principal or "").split(":", 1)[0]
    if previous_principal and previous_source != operator.source:
        raise SeparationOfDutiesError(
            f"Separation of duties cannot be established: {previous_operator} promoted {version} "
            f"to {source} identified by {previous_source}, you are identified by "
            f"{operator.source}, and two identity sources cannot tell whether you are two people",
            hint=f"promote to {target} identified by {previous_source}, as someone other than "
            f"{previous_operator}", details=details)
    if previous_operator == operator.name or previous_principal == operator.principal:
        raise SeparationOfDutiesError(
            f"Separation of duties violation: {operator.name} promoted {version} to {source}, "
            f"so a different operator must promote it to {target}",
            hint=f"ask another authorized operator to run the promotion to {target}",
            details=details,
        )

"""Who acts: the operator (and how floe knows who they are) and the actor of one command."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    """Who acts, and how we know (FR-045)."""

    name: str
    source: str = "local"  # oidc | registry | local
    authenticated: bool = False
    groups: tuple[str, ...] = ()
    email: str | None = None
    issuer: str = ""  # the OIDC issuer, or the registry host that accepted the credential
    subject: str = ""  # the OIDC ``sub``, or the registry username

    @property
    def principal(self) -> str:
        """Who this is, across identity sources: ``source:issuer:subject``. Two operators are
        the same person for separation of duties only if their principals match."""
        return f"{self.source}:{self.issuer}:{self.subject or self.name}"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "authenticated": self.authenticated,
            "groups": list(self.groups),
            "email": self.email,
            "principal": self.principal,
        }


@dataclass(frozen=True)
class Actor:
    """Who is acting (and how we know), and the trace the action belongs to."""

    operator: str
    trace_id: str = ""
    identity: Operator | None = None

    @property
    def who(self) -> Operator:
        return self.identity or Operator(self.operator)

    @property
    def identified_by(self) -> str | None:
        """How the operator was identified (``oidc``, ``registry``, ``local``), recorded on
        every event (FR-045); None when no identity was resolved."""
        return self.identity.source if self.identity else None

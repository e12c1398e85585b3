"""Who may enter an environment: require_authenticated and --break-glass (FR-045..FR-049)."""

from __future__ import annotations

import pytest

from floe_ledger.domain.model.authorization import (
    authorize,
    authorize_break_glass,
    authorize_entry,
)
from floe_ledger.domain.model.config import AuthorizationConfig, PromotionConfig
from floe_ledger.domain.model.errors import UnauthorizedError
from floe_ledger.domain.model.identity import Actor, Operator
from floe_ledger.domain.services.locks import LockService
from floe_ledger.domain.services.promote import PromotionService
from floe_ledger.domain.services.requests import PromoteRequest
from support.clock import TestClock
from support.memory_registry import MemoryRegistry
from support.memory_store import MemoryStore

LOCAL = Operator("dave", "local", authenticated=False, groups=("release",))
REGISTRY = Operator("bob", "registry", authenticated=True, groups=("developers",))
OIDC = Operator("ci@acme.example", "oidc", authenticated=True, groups=("sre",))


def refusal(policy: AuthorizationConfig | None, operator: Operator, *,
            break_glass: bool = False) -> UnauthorizedError:
    with pytest.raises(UnauthorizedError) as err:
        if break_glass:
            authorize_break_glass(policy, operator, "prod")
        else:
            authorize(policy, operator, "promote to", "prod")
    assert err.value.exit_code == 12
    return err.value


@pytest.mark.requirement("FR-045", "FR-046", "FR-049")
def test_an_authorization_block_requires_authentication_by_default() -> None:
    policy = AuthorizationConfig()
    assert policy.require_authenticated is True
    err = refusal(policy, LOCAL)
    assert "dave is not authenticated" in err.message
    assert "the local user name, unauthenticated" in err.message  # how dave was identified
    assert "FLOE_OIDC_TOKEN" in err.hint and "registry credentials" in err.hint
    assert authorize(policy, REGISTRY, "promote to", "prod").via == "authenticated:registry"
    assert authorize(policy, OIDC, "promote to", "prod").via == "authenticated:oidc"


@pytest.mark.requirement("FR-045", "FR-047")
def test_an_authenticated_operator_outside_the_groups_is_not_told_to_log_in() -> None:
    err = refusal(AuthorizationConfig(allowed_groups=["release"]), REGISTRY)
    assert "bob (identified by a registry credential)" in err.message
    assert "required: group release; bob is in group developers" in err.message
    assert "authenticate" not in err.hint and "docker login" not in err.hint
    assert err.hint.startswith("'floe whoami' shows who floe takes you for: join a required "
                               "group or have an allowed operator promote to prod; see "
                               "environments[prod].authorization in manifest.yaml")
    # Break-glass refused for want of a group says the same; for want of a login, log in.
    assert "join a required group" in refusal(AuthorizationConfig(
        allowed_groups=["release"]), REGISTRY, break_glass=True).hint
    assert "docker login" in refusal(None, LOCAL, break_glass=True).hint


@pytest.mark.requirement("FR-046", "FR-047", "FR-049")
def test_require_authenticated_false_lets_the_manifest_groups_of_a_local_user_count() -> None:
    policy = AuthorizationConfig(allowed_groups=["release"], require_authenticated=False)
    assert authorize(policy, LOCAL, "promote to", "prod").via == "group:release"
    err = refusal(policy, Operator("eve", "local", groups=("developers",)))
    assert "eve (identified by the local user name, unauthenticated)" in err.message
    assert "required: group release; eve is in group developers" in err.message
    anyone = AuthorizationConfig(require_authenticated=False)
    assert authorize(anyone, LOCAL, "promote to", "prod").via == "unauthenticated:local"


@pytest.mark.requirement("FR-046")
def test_no_authorization_block_checks_nothing_without_break_glass() -> None:
    assert authorize(None, LOCAL, "promote to", "prod").via == "no-policy"
    assert authorize_entry(None, LOCAL, "promote to", "prod", break_glass=None).passed


@pytest.mark.requirement("FR-045", "FR-046", "FR-049", "FR-036")
@pytest.mark.parametrize("policy", [None, AuthorizationConfig(),
                                    AuthorizationConfig(allowed_groups=["release"],
                                                        require_authenticated=False)])
def test_break_glass_always_needs_an_authenticated_operator(
        policy: AuthorizationConfig | None) -> None:
    err = refusal(policy, LOCAL, break_glass=True)
    assert "not authenticated" in err.message and "FLOE_OIDC_TOKEN" in err.hint
    assert err.details["action"] == "break glass into"
    with pytest.raises(UnauthorizedError):
        authorize_entry(policy, LOCAL, "promote to", "prod", break_glass="INC-7")


@pytest.mark.requirement("FR-045", "FR-047", "FR-049")
def test_break_glass_needs_a_listed_group_or_a_break_glass_group() -> None:
    assert authorize_break_glass(None, REGISTRY, "prod").via == "break-glass:authenticated:registry"
    policy = AuthorizationConfig(allowed_groups=["platform-admins"], break_glass_groups=["sre"])
    err = refusal(policy, REGISTRY, break_glass=True)
    assert "bob (identified by a registry credential)" in err.message
    assert "one of the groups platform-admins or sre" in err.message
    assert "bob is in group developers" in err.message
    assert authorize_break_glass(policy, OIDC, "prod").via == "break-glass:group:sre"
    admin = Operator("alice", "registry", authenticated=True, groups=("platform-admins",))
    assert authorize_break_glass(policy, admin, "prod").via == "break-glass:group:platform-admins"
    # Without break-glass, break_glass_groups grant nothing.
    refusal(policy, OIDC)


@pytest.mark.requirement("FR-036", "FR-045", "FR-048")
def test_a_refused_break_glass_is_recorded_and_a_vouched_one_enters() -> None:
    store, registry = MemoryStore(), MemoryRegistry()
    registry.push_artifact([b"platform: v1"], tag="v1.2.3")
    service = PromotionService(store=store, registry=registry, repository=registry.uri,
                               clock=TestClock(), config=PromotionConfig())
    service.promote(PromoteRequest("v1.2.3", None, "dev"), Actor("alice"))
    LockService(store, registry, registry.uri, PromotionConfig(), TestClock()).lock(
        "staging", "incident 42", Actor("sre"))
    glass = PromoteRequest("v1.2.3", "dev", "staging", break_glass="hotfix")
    with pytest.raises(UnauthorizedError) as err:
        service.promote(glass, Actor("alice"))
    assert err.value.exit_code == 12
    assert store.events(registry.uri)[-1] == "PromotionRejected"
    result = service.promote(glass, Actor("bob", "", REGISTRY))
    assert result.tags == ["v1.2.3-staging", "latest-staging"]
    assert "LockBroken" in store.events(registry.uri)

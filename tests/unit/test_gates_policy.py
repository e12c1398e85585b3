"""The policy_compliance gate: CEL rules over artifact facts, failing closed."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from floe_ledger.adapters.gates.cel_policy import (
    evaluate_policies,
    run_policy_gate,
    validate_policies,
)
from floe_ledger.adapters.gates.context import GateContext
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.gate_results import GateStatus
from floe_ledger.domain.model.gates import GateSpec
from floe_ledger.domain.model.oci import OCI_MANIFEST
from floe_ledger.domain.model.policy import (
    DEFAULT_POLICIES,
    PROVENANCE_IN_TOTO,
    SBOM_SPDX,
    Facts,
    Policies,
    PolicyRule,
    build_facts,
    effective_policies,
)

MANIFEST: dict[str, Any] = {
    "schemaVersion": 2,
    "mediaType": OCI_MANIFEST,
    "artifactType": "application/vnd.floe.platform.v1",
    "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "x"},
    "layers": [{"mediaType": "application/yaml", "size": 1000, "digest": "a"},
               {"mediaType": "application/yaml", "size": 24, "digest": "b"}],
    "annotations": {"org.opencontainers.image.created": "2026-11-25T10:00:00Z",
                    "team": "data"},
}


def facts(version: str = "v1.2.3", target: str = "prod", **overrides: Any) -> Facts:
    built = build_facts(MANIFEST, media_type=OCI_MANIFEST, version=version, source_env="staging",
                        target_env=target, signature_status="verified",
                        referrers=[SBOM_SPDX, PROVENANCE_IN_TOTO])
    return built.model_copy(update=overrides)


def rule(expression: str, name: str = "custom", **kw: Any) -> PolicyRule:
    return PolicyRule(name=name, expression=expression, message=f"{name} says no", **kw)


def test_facts_come_from_the_manifest() -> None:
    f = facts()
    assert f.size == 1026
    assert f.layers == 2
    assert f.created == "2026-11-25T10:00:00Z"
    assert f.manifest.artifact_type == "application/vnd.floe.platform.v1"
    assert f.config.media_type == "application/vnd.oci.empty.v1+json"
    assert f.version_prerelease is False
    assert facts("v1.2.3-rc.1").version_prerelease is True


@pytest.mark.requirement("FR-010")
def test_the_default_rules_pass_for_a_released_oci_artifact() -> None:
    result = evaluate_policies("policy_compliance", DEFAULT_POLICIES, facts(), "prod")
    assert result.status is GateStatus.PASSED
    assert result.details["rules"] == ["manifest-is-oci", "size-limit", "version-is-release"]


@pytest.mark.requirement("FR-010", "US2")
def test_a_prerelease_is_blocked_from_prod_naming_the_rule_and_its_message() -> None:
    result = evaluate_policies("policy_compliance", DEFAULT_POLICIES, facts("v2.0.0-rc.1"), "prod")
    assert result.status is GateStatus.FAILED
    assert result.error == ("policy 'version-is-release' violated: only release versions "
                            "(no -rc, -beta, ...) may be promoted to prod")
    assert result.details["violations"][0]["rule"] == "version-is-release"
    staging = evaluate_policies("policy_compliance", DEFAULT_POLICIES, facts("v2.0.0-rc.1"),
                                "staging")
    assert staging.status is GateStatus.PASSED


@pytest.mark.requirement("FR-010", "SC-007")
def test_a_configured_rule_violation_blocks_with_its_name_and_message() -> None:
    rules = effective_policies([
        rule('"application/vnd.cyclonedx+json" in referrers', name="has-cyclonedx-sbom"),
        rule('signature.status == "verified" && size < 100', name="small-and-signed"),
    ])
    result = evaluate_policies("policy_compliance", rules, facts(), "prod")
    assert result.status is GateStatus.FAILED
    assert result.error is not None
    assert result.error.startswith("2 policy rules failed: ")
    assert "policy 'has-cyclonedx-sbom' violated: has-cyclonedx-sbom says no" in result.error
    assert [v["rule"] for v in result.details["violations"]] == [
        "has-cyclonedx-sbom", "small-and-signed"]


def test_facts_are_visible_by_their_documented_names() -> None:
    expressions = [
        f'manifest.media_type == "{OCI_MANIFEST}"',
        'manifest.artifact_type.startsWith("application/vnd.floe")',
        'config.media_type == "application/vnd.oci.empty.v1+json"',
        'annotations["team"] == "data" && !("owner" in annotations)',
        "size == 1026 && layers == 2", 'created != ""', 'version == "v1.2.3"',
        '"application/spdx+json" in referrers', 'target_env == "prod" && source_env == "staging"',
    ]
    rules = [rule(e, name=f"r{i}") for i, e in enumerate(expressions)]
    result = evaluate_policies("policy_compliance", rules, facts(), "prod")
    assert result.status is GateStatus.PASSED, result.error


@pytest.mark.requirement("FR-010")
@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("size <", "CEL syntax error at line 1, column"),
        ("no_such_fact == 1", "undeclared reference to 'no_such_fact'"),
        ('annotations["owner"] == "me"', "no such key"),
        ("size", "must yield a bool"),
        ('size + "a" > 1', "no matching overload"),
    ],
)
def test_a_rule_that_cannot_be_evaluated_fails_the_gate_closed(expression: str,
                                                               words: str) -> None:
    result = evaluate_policies("policy_compliance", [rule(expression, name="broken")], facts(),
                               "prod")
    assert result.status is GateStatus.FAILED
    assert result.error is not None
    assert result.error.startswith("policy 'broken' could not be evaluated: ")
    assert words in result.error
    assert len(result.error) < 400


@pytest.mark.requirement("FR-010", "CFG-32")
def test_bad_expressions_are_configuration_errors_naming_the_path() -> None:
    rules = [rule("true", name="ok"), rule("size <", name="syntax"),
             rule("sizee > 1", name="typo"), rule('annotations["x"] == "y"', name="runtime")]
    with pytest.raises(ConfigError) as caught:
        validate_policies(rules)
    assert caught.value.details["problems"] == [
        "artifacts.promotion.policies[1].expression (syntax): "
        "CEL syntax error at line 1, column 7 in 'size <': mismatched input '<EOF>'",
        "artifacts.promotion.policies[2].expression (typo): undeclared reference to 'sizee'",
    ]
    validate_policies(list(DEFAULT_POLICIES))


def test_a_configured_rule_replaces_the_default_of_the_same_name() -> None:
    waived = rule("true", name="size-limit")
    rules = effective_policies([waived])
    assert [r.name for r in rules] == ["manifest-is-oci", "size-limit", "version-is-release"]
    assert rules[1] is waived


def test_policy_names_must_be_unique_and_rules_complete() -> None:
    with pytest.raises(ValidationError, match="repeated: a"):
        TypeAdapter(Policies).validate_python([
            {"name": "a", "expression": "true", "message": "m"},
            {"name": "a", "expression": "false", "message": "m"}])
    with pytest.raises(ValidationError, match="message"):
        PolicyRule.model_validate({"name": "a", "expression": "true"})


@pytest.mark.requirement("FR-010")
def test_the_gate_fails_closed_when_no_facts_were_gathered() -> None:
    ctx = GateContext("r@sha256:x", "sha256:x", "v1-dev", "dev", "staging", facts=None)
    result = run_policy_gate(GateSpec("policy_compliance", "policy", 300), ctx)
    assert result.status is GateStatus.FAILED
    assert "no facts" in (result.error or "")


def test_importing_the_gate_executor_does_not_load_the_cel_engine() -> None:
    code = ("import sys, floe_ledger.adapters.gates.executor, floe_ledger.domain.model.policy;"
            "print('cel.cel' in sys.modules or 'cel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_the_cel_engine_loads_without_its_interactive_cli() -> None:
    code = ("import sys; from floe_ledger.adapters.gates.cel_policy import evaluate;"
            "print(evaluate('1 < 2', {}), 'prompt_toolkit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "False"]

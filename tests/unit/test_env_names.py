"""Environment names and the tags that end in them (issue 14 item 4; CLI-01, TAG-02)."""

from __future__ import annotations

import pytest

from floe_ledger.domain.model.errors import UsageError
from floe_ledger.domain.model.values import ENV_NAME_RE, split_env_tag, strip_env_suffix

ENVS = ("dev", "prod", "pre-prod", "us_east")


@pytest.mark.requirement("FR-001a", "CFG-08")
@pytest.mark.parametrize(("name", "valid"), [
    ("dev", True), ("pre-prod", True), ("us_east", True), ("eu-west-1", True), ("a", True),
    ("x" * 31, True), ("x" * 32, False), ("Prod", False), ("pre--prod", False),
    ("pre-", False), ("-pre", False), ("_pre", False), ("pre.prod", False), ("1dev", False),
    ("dev\n", False), ("", False),
])
def test_environment_names(name: str, valid: bool) -> None:
    assert bool(ENV_NAME_RE.match(name)) is valid


@pytest.mark.requirement("TAG-02", "CLI-01")
@pytest.mark.parametrize(("tag", "split"), [
    ("v1.0.0-pre-prod", ("v1.0.0", "pre-prod")),   # longest first: not v1.0.0-pre in prod
    ("v1.0.0-prod", ("v1.0.0", "prod")),
    ("v1.0.0-rc.1-us_east", ("v1.0.0-rc.1", "us_east")),
    ("v1.0.0", None), ("latest-prod", None), ("v1.0.0-staging", None),
])
def test_tags_are_read_against_the_names_longest_first(tag: str,
                                                       split: tuple[str, str] | None) -> None:
    assert split_env_tag(tag, ENVS) == split


@pytest.mark.requirement("CLI-01")
def test_a_suffix_is_stripped_only_for_the_environment_the_command_names() -> None:
    assert strip_env_suffix("v1.0.0-pre-prod", ENVS, "pre-prod") == "v1.0.0"
    assert strip_env_suffix("v1.0.0-rc.1", ENVS, "dev") == "v1.0.0-rc.1"
    with pytest.raises(UsageError) as err:
        strip_env_suffix("v1.0.0-dev", ENVS, "prod")
    assert err.value.message == "v1.0.0-dev names environment dev, but the command gives " \
        "--from prod"
    with pytest.raises(UsageError) as err:
        strip_env_suffix("v1.0.0-prod", ENVS, "dev", "--env")
    assert "--env dev" in err.value.message and "--env prod" in err.value.hint
    with pytest.raises(UsageError) as err:
        strip_env_suffix("v1.0.0-dev", ENVS, None)
    assert "no --from (the release tag)" in err.value.message

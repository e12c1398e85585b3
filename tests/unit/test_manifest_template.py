"""The manifest.yaml `floe init` writes: loads with the real loader, round-trips through
ruamel with every comment kept, and its commented examples name only keys floe reads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from floe_ledger.adapters.manifest.loader import load_manifest
from floe_ledger.adapters.manifest.template import render_manifest
from floe_ledger.domain.model.errors import ConfigError, UsageError
from floe_ledger.domain.model.signature import parse_policy

URI = "oci://registry.example.com/acme/platform"


def _round_trip(text: str) -> str:
    yaml = YAML(typ="rt", pure=True)
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(yaml.load(text), out)
    return out.getvalue()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.requirement("FR-001b", "CFG-01", "CFG-07")
@pytest.mark.parametrize("examples", [False, True])
def test_the_template_round_trips_with_its_comments_and_loads(tmp_path: Path,
                                                              examples: bool) -> None:
    text = render_manifest(URI, examples=examples)
    assert _round_trip(text) == text  # ruamel keeps every comment, quote and indent
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) >= 15
    manifest = load_manifest(_write(tmp_path, text))
    assert manifest.artifacts.registry.uri == URI
    assert manifest.artifacts.promotion.path.names == ("dev", "staging", "prod")
    assert parse_policy(manifest.artifacts.registry.verification).enforcement == "off"


@pytest.mark.requirement("CFG-05", "CFG-06", "FR-020")
def test_the_signature_and_gate_examples_are_comments_naming_real_keys(tmp_path: Path) -> None:
    text = render_manifest(URI)
    for example in ("# public_keys: [keys/cosign.pub]", "# trusted_issuers:",
                    "#   - issuer: https://token.actions.githubusercontent.com",
                    "#     subject_regex: ^https://github", "# gates:", "#   tests: true",
                    "#   security_scan: {report:", "# authorization:", "# gate_commands:"):
        assert example in text, example
    # Switched on, every example is a key the real loader and its sub-models accept.
    manifest = load_manifest(_write(tmp_path, render_manifest(URI, examples=True)))
    policy = parse_policy(manifest.artifacts.registry.verification)
    assert policy.public_keys == ["keys/cosign.pub"]
    assert policy.trusted_issuers[0].matches(
        "https://token.actions.githubusercontent.com",
        ["https://github.com/acme/platform/.github/workflows/release.yml@refs/tags/v1.0.0"])
    prod = manifest.artifacts.promotion.environments[-1]
    assert set(prod.gates) == {"tests", "security_scan"}
    assert prod.authorization is not None and prod.authorization.separation_of_duties
    assert set(manifest.artifacts.promotion.gate_commands) == {"tests"}
    assert manifest.artifacts.registry.plain_http and manifest.artifacts.registry.ca_file


@pytest.mark.requirement("FR-001a", "CFG-08")
def test_named_environments_keep_their_order_and_the_gate_example_goes_to_the_last(
        tmp_path: Path) -> None:
    text = render_manifest("oci-layout:./oci", ["dev", "qa", "uat", "live"], plain_http=False)
    manifest = load_manifest(_write(tmp_path, text))
    assert manifest.artifacts.promotion.path.names == ("dev", "qa", "uat", "live")
    assert text.index("- name: live") < text.index("# gates:")
    assert "promote v1.0.0 --to dev`" in text
    on = render_manifest("oci://127.0.0.1:5000/acme/app", ["dev"], plain_http=True)
    assert load_manifest(_write(tmp_path, on)).artifacts.registry.plain_http is True


@pytest.mark.requirement("CFG-08")
@pytest.mark.parametrize("names", [["Dev"], ["dev", "dev"], ["a: b"], ["dev\nevil: 1"], []])
def test_a_bad_environment_list_is_a_usage_error_not_a_broken_file(names: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        render_manifest(URI, names)
    assert "--env" in caught.value.message or "no environments" in caught.value.message
    assert caught.value.exit_code == 2


@pytest.mark.requirement("CFG-01")
@pytest.mark.parametrize("uri", ["oci://bad host/x", "https://r.example.com/a", "oci://r.example.com",
                                 "oci-layout:./my dir"])
def test_a_bad_uri_is_a_config_error(uri: str) -> None:
    with pytest.raises(ConfigError) as caught:
        render_manifest(uri)
    assert "artifacts.registry.uri" in caught.value.message


def test_an_unusual_but_valid_uri_is_quoted_and_loads_back_unchanged(tmp_path: Path) -> None:
    uri = "oci-layout:./off#1"
    text = render_manifest(uri)
    assert 'uri: "oci-layout:./off#1"' in text
    assert load_manifest(_write(tmp_path, text)).artifacts.registry.uri == uri

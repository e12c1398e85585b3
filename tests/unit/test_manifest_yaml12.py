"""manifest.yaml is read with YAML 1.2 semantics: `off` is a string, and a scalar of the
wrong kind is named by key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_ledger.adapters.manifest.loader import load_manifest
from floe_ledger.domain.model.errors import ConfigError

HEAD = "artifacts:\n  registry:\n    uri: oci-layout:./reg\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.requirement("CFG-05")
def test_unquoted_off_is_the_string_off(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "    verification:\n      enforcement: off\n")
    assert load_manifest(path).artifacts.registry.verification["enforcement"] == "off"


@pytest.mark.requirement("CFG-08")
@pytest.mark.parametrize(("value", "kind"), [("1e3", "a number"), ("0777", "a number"),
                                             ("2026-01-01", "a date"), ("true", "a boolean")])
def test_a_scalar_that_is_not_a_string_is_named_by_key_and_line(tmp_path: Path, value: str,
                                                               kind: str) -> None:
    path = write(tmp_path, HEAD + f"  promotion:\n    environments:\n      - name: {value}\n")
    with pytest.raises(ConfigError) as refused:
        load_manifest(path)
    message = refused.value.message
    assert "artifacts.promotion.environments.0.name (line 6)" in message, message
    assert f"the YAML value is {kind}, not a string: quote it" in message


@pytest.mark.requirement("CFG-08")
def test_a_manifest_that_is_not_utf8_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_bytes(HEAD.encode() + b"  # caf\xe9\n")
    with pytest.raises(ConfigError, match=r"line 4: not UTF-8"):
        load_manifest(path)


@pytest.mark.requirement("CFG-08")
def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "  promotion: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: not valid YAML"):
        load_manifest(path)

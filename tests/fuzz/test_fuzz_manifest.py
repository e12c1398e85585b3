"""Hostile manifest.yaml: never a traceback, exit 2 naming the file and the key or line.

Generated documents (a valid manifest with wrong types, unknown keys, YAML 1.1-isms, huge
values), raw YAML-ish text and bytes, and a table of known traps (alias bombs, deep
nesting, endless files, duplicate keys, tabs, BOMs, directives) are read by the real
``floe`` (in-process): ``whoami`` validates the whole manifest; ``promote --dry-run`` also
builds the gates, policies and verification settings from it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.fuzzing import BASE_MANIFEST, LocalSite, fuzz_settings, invoke, local_site
from support.hostile_yaml import VALID, mutated_manifests, to_yaml

WHOAMI = ("whoami", "-o", "json")
DRY_RUN = ("platform", "promote", "v1.0.0", "--to", "dev", "--dry-run", "-o", "json")
# promote --dry-run: 0 would succeed; 2 config; 3 not found (another layout dir); 6
# signature; 8 a gate fails (a report or command the mutation broke); 9 the path changed;
# 12 authorization; 13 locked.
DRY_RUN_CODES = {0, 2, 3, 6, 8, 9, 12, 13}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> LocalSite:
    return local_site(tmp_path_factory.mktemp("manifest-fuzz"), promoted=False)


def check_config_error(site: LocalSite, stdout: str) -> None:
    """A refused manifest says so in the envelope: code config/usage, naming the file or the
    key (``artifacts.…``) and, when the loader found the problem, its line."""
    doc = json.loads(stdout)
    error = doc["error"]
    assert error["code"] in ("config", "usage"), error
    message = error["message"]
    assert str(site.manifest) in message or "artifacts." in message, message


def run_whoami(site: LocalSite, tally: Any, text: str | bytes) -> None:
    site.write(text)
    result = invoke([*WHOAMI, "--manifest", str(site.manifest)], tally, {0, 2}, site.env)
    if result.exit_code == 2:
        check_config_error(site, result.stdout)


@pytest.mark.requirement("CFG-32", "FR-032")
@given(doc=mutated_manifests())
@fuzz_settings(examples=120)
def test_generated_manifests_are_accepted_or_named_config_errors(site, tally, doc) -> None:
    run_whoami(site, tally("manifest: generated documents (whoami)"),
               to_yaml({"artifacts": doc, "x-extra": {"ignored": True}}))


@pytest.mark.requirement("CFG-32", "FR-032")
@given(doc=mutated_manifests())
@fuzz_settings(examples=30)
def test_generated_manifests_reach_the_gates_without_a_traceback(site, tally, doc) -> None:
    doc["registry"], doc["replicas"] = VALID["registry"], []  # the local layout: no network
    (site.root / "scan.json").write_text('{"SchemaVersion": 2, "Results": []}')
    site.write(to_yaml({"artifacts": doc}))
    result = invoke([*DRY_RUN, "--manifest", str(site.manifest)],
                    tally("manifest: generated documents (promote --dry-run)"),
                    DRY_RUN_CODES, site.env)
    if result.exit_code == 2:
        check_config_error(site, result.stdout)


_fragments = st.sampled_from([
    "&a ", "*a", "<<: ", "!!str ", "!!map ", "!!python/tuple ", "%YAML 1.1\n", "%YAML 2.0\n",
    "%TAG ! tag:x,2000:\n", "---\n", "...\n", "? ", ": ", "- ", "{", "}", "[", "]", ",", "'",
    '"', "|", ">", "#", "\t", "\ufeff", "\x00", "\r", "\r\n", "\x85", "\u2028", "\x1b[2K",
    "\n", "\n  ", "\n    ", "artifacts:", "registry:", "uri: ", "off", "2026-01-01", "0777",
    "9" * 5000, "\\", "\\x", "\\u12", "@", "`", "%", "!", "&", "*",
])
raw_text = st.lists(st.one_of(_fragments, st.text(max_size=8)), max_size=30).map("".join)


@pytest.mark.requirement("CFG-32", "FR-032")
@given(tail=raw_text)
@fuzz_settings(examples=300)
def test_yaml_token_soup_is_never_a_traceback(site, tally, tail) -> None:
    run_whoami(site, tally("manifest: raw YAML text"), BASE_MANIFEST + tail)


@pytest.mark.requirement("CFG-32", "FR-032")
@given(data=st.binary(max_size=200))
@fuzz_settings(examples=120)
def test_arbitrary_bytes_are_never_a_traceback(site, tally, data) -> None:
    run_whoami(site, tally("manifest: raw bytes"), BASE_MANIFEST.encode() + data)


def _laughs(levels: int) -> str:
    """Top-level anchors, each a list of nine aliases of the one before: 9**levels values."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


H = BASE_MANIFEST
TRAPS: dict[str, tuple[str | bytes, str]] = {
    # name: (content, what the message must say)
    "billion laughs": (_laughs(10) + H, "once aliases are expanded"),
    "alias bomb in a key floe reads": (
        _laughs(7) + H + "  promotion:\n    policies: *l6\n", "once aliases are expanded"),
    "deep flow nesting": (H + "x: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested"),
    "deep block nesting": ("x:\n" + "".join(f"{' ' * i}k:\n" for i in range(1, 400))
                           + " " * 400 + "v\n" + H, "nested"),
    "larger than the cap": (H + "# " + "x" * 300_000 + "\n", "KiB; not read"),
    "not UTF-8": (H.encode() + b"  # caf\xe9\n", "line 4: not UTF-8"),
    "UTF-16 with a BOM": (H.encode("utf-16"), "not UTF-8"),
    "duplicate key": (H + "  registry: {uri: oci-layout:./other}\n", "duplicate key"),
    "tab indentation": ("artifacts:\n\tregistry:\n\t\turi: x\n", "line 2"),
    "YAML 1.3 directive": ("%YAML 1.3\n---\n" + H, "not valid YAML"),
    "integer past Python's digit limit": (
        H + "  promotion:\n    default_timeout: " + "9" * 5000 + "\n", "not valid YAML"),
    "NUL byte": (H + "\x00\n", "not valid YAML"),
    "bad timestamp tag": (H + "  x: !!timestamp 2026-13-45\n", "not valid YAML"),
    "environment name 'yes'": (H + "  promotion:\n    environments:\n      - name: 2026-01-01\n",
                               "(line 6)"),
    "null in a string field": (H.replace("oci-layout:./reg", "null"), "(line 3)"),
    "scalar where a mapping belongs": (H + "  promotion: off\n", "(line 4)"),
    "a name with a trailing newline": (
        H + '  promotion:\n    environments:\n      - name: "dev\\n"\n', "(line 6)"),
    "unknown key": (H + "  registyr: {}\n", "registyr (line 4)"),
    "a lone surrogate escape": (H + '  identity:\n    groups:\n      bob: ["\\ud800"]\n',
                                "groups.bob.0 (line 6)"),
    "empty file": ("", "expected a mapping"),
    "a list at the top": ("- artifacts\n", "expected a mapping"),
}


@pytest.mark.requirement("CFG-32", "CFG-08", "FR-032")
def test_known_traps_are_refused_quickly_naming_file_and_place(site, tally) -> None:
    count = tally("manifest: known traps (bombs, nesting, size, encodings)")
    for name, (content, says) in TRAPS.items():
        site.write(content)
        started = time.monotonic()
        result = invoke([*WHOAMI, "--manifest", str(site.manifest)], count, {2}, site.env)
        elapsed = time.monotonic() - started
        message = json.loads(result.stdout)["error"]["message"]
        assert str(site.manifest) in message and says in message, (name, message)
        assert len(message) < 1000, (name, len(message))
        assert elapsed < 5, (name, elapsed)


@pytest.mark.requirement("CFG-05", "CFG-08")
def test_yaml_11_booleans_are_strings_and_enforcement_off_needs_no_quotes(site, tally) -> None:
    count = tally("manifest: YAML 1.1 booleans")
    names = ["off", "on", "yes", "no", "y", "n"]
    site.write(H + "    verification:\n      enforcement: off\n  promotion:\n"
               "    environments:\n" + "".join(f"      - name: {n}\n" for n in names))
    result = invoke(["platform", "status", "-o", "json", "--manifest", str(site.manifest)],
                    count, {0}, site.env)
    assert [row["environment"] for row in json.loads(result.stdout)["environments"]] == names
    site.write(H + "    verification:\n      enforcement: yes\n")
    result = invoke([*DRY_RUN, "--manifest", str(site.manifest)], count, {2}, site.env)
    assert "enforcement" in json.loads(result.stdout)["error"]["message"]


@pytest.mark.requirement("CFG-32", "FR-032")
@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/", "/nonexistent/m.yaml",
                                  "x" * 5000])
def test_a_manifest_path_that_is_no_manifest_is_refused(site, tally, path: str) -> None:
    allowed = {2}
    result = invoke(["platform", "status", "-o", "json", "--manifest", path],
                    tally("manifest: paths that are no manifest"), allowed, site.env)
    assert result.exit_code == 2


@pytest.mark.requirement("CFG-32", "FR-032")
def test_a_gigabyte_manifest_is_refused_by_its_size_unread(site, tally, tmp_path: Path) -> None:
    huge = tmp_path / "manifest.yaml"
    with huge.open("wb") as f:  # sparse: costs no disk
        f.write(BASE_MANIFEST.encode())
        f.truncate(1 << 30)
    for command in (WHOAMI, ("platform", "status", "-o", "json")):
        result = invoke([*command, "--manifest", str(huge)],
                        tally("manifest: paths that are no manifest"), {2}, site.env)
        assert "KiB; not read" in json.loads(result.stdout)["error"]["message"]

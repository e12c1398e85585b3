"""Hostile manifest.yaml documents for the fuzz tests: a valid manifest that uses every key,
mutations of it (wrong types, unknown keys, YAML 1.1-isms, huge values), and an emitter that
writes them as block YAML with chosen scalars left unquoted.

    doc = draw(mutated_manifests())
    text = to_yaml({"artifacts": doc})
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import strategies as st

from support.doc_paths import node_paths


class Raw(str):
    """A scalar written as it is (unquoted), so YAML resolves it: ``off``, ``0777``, tags."""


VALID: dict[str, Any] = {
    "registry": {
        "uri": "oci-layout:./reg", "plain_http": False, "insecure_registries": [],
        "verification": {"enforcement": Raw("off"), "public_keys": [],
                         "trusted_issuers": [{"issuer": "https://issuer.example",
                                              "subject_regex": "^ci@acme$"}]},
    },
    "promotion": {
        "environments": [
            {"name": "dev", "gate_timeout_seconds": 60,
             "gates": {"tests": True, "policy_compliance": True,
                       "security_scan": {"report": "scan.json", "scanner_format": "trivy",
                                         "block_on_severity": ["CRITICAL", "HIGH"],
                                         "ignore_unfixed": False, "timeout_seconds": 60}}},
            {"name": "staging", "authorization": {
                "allowed_groups": ["platform"], "allowed_operators": ["fuzzer"],
                "separation_of_duties": True, "require_authenticated": False,
                "break_glass_groups": []}},
            {"name": "prod", "trust_unrecorded_tags": False},
        ],
        "gate_commands": {"tests": {"command": ["true"], "timeout_seconds": 30, "env": []}},
        "policies": [{"name": "always", "expression": "true", "message": "never fails",
                      "environments": ["prod"]}],
        "default_timeout": 300, "max_parallel_gates": 4,
        "webhooks": [{"url": "https://hooks.example/floe", "events": ["promote", "lock"],
                      "headers": {"X-Team": "platform"}, "header_env": [],
                      "timeout_seconds": 5, "retry_count": 0}],
    },
    "replicas": [],
    "identity": {"groups": {"fuzzer": ["platform"]}},
    "dependents": [{"name": "billing", "repository": "acme/billing", "constraint": ">=1.0"}],
}

YAMLISMS = [Raw(s) for s in (
    "off", "on", "yes", "no", "y", "n", "Y", "NO", "True", "FALSE", "0777", "0o777", "0x1F",
    "1e3", "-1e400", "1_000", "+12", "0b101", "12:30:45", "2026-01-01",
    "2026-01-01T10:00:00Z", "null", "~", "NULL", ".inf", "-.inf", ".nan", "=", "<<",
    "!!str 5", "!!int '3'", "!!float x", "!!bool maybe", "!!null x", "!!binary '@@@'",
    "!!timestamp 2026-13-45", "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1]",
    "!custom x", "!!python/object:os.system {}", "!!python/name:os.system ''",
    "!<tag:yaml.org,2002:int> 12", "'it''s'", '"\\x1b[31m"', '"\\u202eevil"', '"\\0"',
    '"\\ud800"', '"\\ud83d\\ude00"',
    "|\n  literal\n  block", ">-\n  folded", "[]", "{}", "[a, [b, [c]]]", "{a: {b: {c: d}}}",
    "&a x", "*undefined", "? complex", "9" * 5000, "- item",
)]

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_keys = st.one_of(_text, st.sampled_from(["<<", "", "artifacts", "registry", "name", "?",
                                          "-", "x" * 300, "\x1b[2K", "a\nb"]))
scalars = st.one_of(
    st.sampled_from(YAMLISMS), st.integers(-(2**70), 2**70), st.floats(),
    st.booleans(), st.none(), _text,
    st.sampled_from([1_000, 20_000, 300_000]).map(lambda n: "x" * n),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(_keys, inner, max_size=4), max_leaves=8)


PATHS = node_paths(VALID)[1:]


def _apply(doc: dict[str, Any], path: tuple[Any, ...], action: str, value: Any,
           key: str) -> None:
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "replace":
        parent[last] = value
    elif action == "delete" and isinstance(parent, dict):
        del parent[last]
    elif action == "unknown" and isinstance(parent, dict):
        parent[key] = value
    elif action == "wrap":
        parent[last] = [parent[last]] if not isinstance(parent[last], list) else {
            key: parent[last]}


@st.composite
def mutated_manifests(draw: st.DrawFn) -> dict[str, Any]:
    """``VALID`` with one to three mutations, each at a path that still exists."""
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        alive = [p for p in PATHS if _exists(doc, p)]
        path = draw(st.sampled_from(alive))
        action = draw(st.sampled_from(["replace", "replace", "delete", "unknown", "wrap"]))
        _apply(doc, path, action, draw(values), draw(_keys))
    return doc


def _exists(doc: Any, path: tuple[Any, ...]) -> bool:
    node = doc
    for part in path:
        found = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node))
        if not found:
            return False
        node = node[part]
    return True


def scalar(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a YAML double-quoted scalar


def to_yaml(node: Any, indent: int = 0) -> str:
    """Block YAML; containers nest by indentation, empty ones are ``{}`` / ``[]``."""
    pad = " " * indent
    lines: list[str] = []
    items = node.items() if isinstance(node, dict) else ((None, v) for v in node)
    for key, value in items:
        lead = f"{pad}{scalar(key)}:" if isinstance(node, dict) else f"{pad}-"
        if isinstance(value, dict | list) and value:
            lines.append(lead + "\n" + to_yaml(value, indent + 2).rstrip("\n"))
        else:
            text = scalar(value) if not isinstance(value, dict | list) else (
                "{}" if isinstance(value, dict) else "[]")
            if "\n" in text:  # a block scalar: its lines indented under the key
                text = text.replace("\n", "\n" + pad + "  ")
            lines.append(f"{lead} {text}")
    return "\n".join(lines) + "\n"

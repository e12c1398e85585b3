"""CFG-33: the exported JSON Schema accepts what floe accepts and rejects what it rejects."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from floe_ledger.cli.commands.schema import manifest_schema

GOOD = """
artifacts:
  registry:
    uri: oci://registry.example.com/acme/platform
    verification: {enforcement: enforce, public_keys: [keys/cosign.pub]}
  promotion:
    environments:
      - name: dev
      - name: prod
        gates:
          tests: true
          security_scan: {report: trivy.json, block_on_severity: [CRITICAL, HIGH]}
        authorization: {allowed_groups: [admins], separation_of_duties: true}
    gate_commands:
      tests: {command: [make, test], timeout_seconds: 60}
    policies:
      - {name: no-latest, expression: 'version != "latest"', message: pin a version}
"""


@pytest.mark.requirement("CFG-33")
def test_the_schema_accepts_a_full_manifest() -> None:
    jsonschema.validate(yaml.safe_load(GOOD), manifest_schema())


@pytest.mark.requirement("CFG-33", "CFG-10", "CFG-25")
@pytest.mark.parametrize("change", [
    ("gate_timeout_seconds", 5),
    ("gates", {"security_scan": {"block_on_severity": ["SEVERE"]}}),
    ("authorization", {"allowed_groups": "admins"}),
])
def test_the_schema_rejects_what_the_loader_rejects(change) -> None:
    doc = yaml.safe_load(GOOD)
    key, value = change
    doc["artifacts"]["promotion"]["environments"][1][key] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, manifest_schema())

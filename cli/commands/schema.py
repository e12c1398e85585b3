"""``floe schema``: the JSON Schema of manifest.yaml's ``artifacts:`` section (CFG-33)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command, writing
from floe_ledger.cli.output import Output


def manifest_schema() -> dict[str, Any]:
    """The schema, with the gate, policy and verification blocks described by their own models."""
    from floe_ledger.domain.model.config import ManifestConfig
    from floe_ledger.domain.model.gates import GateCommand, GatesConfig
    from floe_ledger.domain.model.policy import PolicyRule
    from floe_ledger.domain.model.signature import VerificationPolicy

    schema = ManifestConfig.model_json_schema()
    defs = schema.setdefault("$defs", {})
    for model in (GatesConfig, GateCommand, PolicyRule, VerificationPolicy):
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
    ref = {"$ref": "#/$defs/{}"}
    defs["EnvironmentConfig"]["properties"]["gates"] = {"$ref": "#/$defs/GatesConfig"}
    promotion = defs["PromotionConfig"]["properties"]
    promotion["gate_commands"] = {"type": "object",
                                  "additionalProperties": {"$ref": "#/$defs/GateCommand"}}
    promotion["policies"] = {"anyOf": [{"type": "array", "items": {"$ref":
                                                                   "#/$defs/PolicyRule"}},
                                       {"type": "null"}]}
    defs["RegistryConfig"]["properties"]["verification"] = {
        "$ref": ref["$ref"].format("VerificationPolicy")}
    schema["title"] = "floe manifest.yaml"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@click.command()
@click.option("-O", "--output-file", "target", type=click.Path(dir_okay=False), default=None,
              help="Write the schema to this file instead of stdout.")
@floe_command(manifest_option=False)
def schema(app: App, out: Output, target: str | None) -> None:
    """Print the JSON Schema of manifest.yaml, for editor completion and CI validation.

    With the default -o table the schema itself is printed (or written to -O FILE);
    -o json|yaml print the usual envelope, the schema under "schema" (or the file
    written under "path").
    """
    document = manifest_schema()
    if target:
        with writing(target):
            Path(target).write_text(json.dumps(document, indent=2) + "\n")
        if out.structured:
            out.result({"path": target})
        else:
            click.echo(f"wrote {target}", err=True)
    elif out.structured:
        out.result({"schema": document})
    else:
        click.echo(json.dumps(document, indent=2) + "\n", nl=False)

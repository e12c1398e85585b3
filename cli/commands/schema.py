"""``floe schema``: the JSON Schema of manifest.yaml's ``artifacts:`` section (CFG-33)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


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
def schema(target: str | None) -> None:
    """Print the JSON Schema of manifest.yaml, for editor completion and CI validation."""
    text = json.dumps(manifest_schema(), indent=2) + "\n"
    if target:
        try:
            Path(target).write_text(text)
        except OSError as err:  # not a floe_command: click's own usage error, exit 2
            raise click.UsageError(f"cannot write {target}: {err.strerror or err}") from None
        click.echo(f"wrote {target}", err=True)
    else:
        click.echo(text, nl=False)

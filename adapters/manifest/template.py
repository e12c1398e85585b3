"""The manifest.yaml ``floe init`` writes: a working minimum, with every choice a team makes
in its first week shown beside it as a comment.

    text = render_manifest("oci://registry.example.com/acme/app", ["dev", "staging", "prod"])
    render_manifest(uri, envs, examples=True)   # the commented examples switched on (tests)

Example lines are marked ``#=`` in :data:`TEMPLATE`: they are written as comments (``# ``),
or as YAML with ``examples=True``, so a test can load them with the real loader and no
example names a key floe does not read. Every rendering is validated with the real loader
(:func:`~floe_ledger.adapters.manifest.loader.parse_manifest`, YAML 1.2) before it is
returned: a bad ``--env`` name or URI is a usage error, never a file that does not load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from floe_ledger.adapters.manifest.loader import parse_manifest, read_yaml
from floe_ledger.adapters.registry.reference import RegistryLocation
from floe_ledger.domain.model.errors import ConfigError, UsageError, quoted

DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")

#: ``@URI@``, ``@PLAIN_HTTP@`` and ``@ENVIRONMENTS@`` are filled in; ``#=`` marks an example.
TEMPLATE = """\
# floe's configuration: the registry that holds the artifacts, the environments a version
# walks through, and what is checked before it enters each one. Written by `floe init`.
# Every key: docs/conventions.md#manifest; `floe schema -O manifest.schema.json` gives
# editors the JSON Schema. Only the "artifacts:" key is floe's; paths are relative to
# this file's folder. `floe doctor` checks the whole set-up and says what to fix.
artifacts:
  registry:
    # oci://host[:port]/repository (a registry) or oci-layout:./dir (a directory)
    uri: @URI@
@PLAIN_HTTP@
    #= ca_file: certs/ca.pem       # the PEM bundle of a private CA
    verification:
      # Check signatures before promoting: "off", warn (promote anyway, with a warning),
      # or enforce (refuse what no trusted key or identity signed).
      enforcement: "off"
      # Key-based, cosign's layout: `floe artifact keygen keys/cosign` makes a key pair,
      # `floe artifact sign v1.0.0 --key keys/cosign.key` signs.
      #= public_keys: [keys/cosign.pub]
      # Keyless (Sigstore): the OIDC issuer of the signing certificate and a regular
      # expression its subject must match in full, checked offline against the pinned
      # Sigstore trust root (FLOE_SIGSTORE_TRUST_ROOT, else the built-in production root).
      #= trusted_issuers:
      #=   - issuer: https://token.actions.githubusercontent.com
      #=     subject_regex: ^https://github\\.com/acme/platform/\\.github/workflows/release\\.yml@refs/tags/v.*$
  promotion:
    # The path every version walks, in this order: `floe platform promote v1.0.0 --to @FIRST@`
    # enters the first one, then `--from @FIRST@ --to <next>`, and so on.
    environments:
@ENVIRONMENTS@
    # The commands of command gates: an argv list (no shell runs). Placeholders:
    # ${ARTIFACT_REF}, ${ARTIFACT_DIGEST}, ${ARTIFACT_TAG}, ${SOURCE_ENV}, ${TARGET_ENV}.
    #= gate_commands:
    #=   tests: {command: [make, smoke, "TARGET=${TARGET_ENV}"], timeout_seconds: 600}
"""

_LAST_ENVIRONMENT_EXAMPLES = """\
        # Gates that run before a version enters this environment (policy_compliance
        # always runs); a gate that fails stops the promotion, nothing is tagged:
        #= gates:
        #=   tests: true                # runs gate_commands.tests below
        #=   security_scan: {report: reports/trivy.json, block_on_severity: [CRITICAL, HIGH]}
        # Who may promote into it:
        #= authorization: {allowed_groups: [platform-admins], separation_of_duties: true}
"""

_PLAIN_HTTP_ON = "    plain_http: true              # http, not https: loopback registries only"
_PLAIN_HTTP_EXAMPLE = ("    #= plain_http: true           "
                       "# http, not https: loopback registries only")
_EXAMPLE = re.compile(r"^(\s*)#= ?(.*)$")
_BARE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")


def render_manifest(uri: str, environments: Sequence[str] = DEFAULT_ENVIRONMENTS, *,
                    plain_http: bool = False, examples: bool = False,
                    base_dir: Path | None = None) -> str:
    """manifest.yaml for ``uri`` with ``environments`` in order, validated by the loader.

    Args:
        uri: ``oci://host[:port]/repo``, ``host[:port]/repo`` or ``oci-layout:./dir``.
        environments: the path, first to last.
        plain_http: write ``plain_http: true`` (a loopback registry without TLS).
        examples: write the commented examples as YAML (to test that they load).
        base_dir: the folder the file will be in (relative ``oci-layout:`` paths).

    Raises:
        ConfigError: the URI is malformed (exit 2, naming it).
        UsageError: an environment name is invalid or repeated (exit 2, naming ``--env``).
    """
    RegistryLocation.parse(uri, base_dir=base_dir or Path.cwd())
    if not environments:
        raise UsageError("no environments given", hint="pass --env NAME at least once")
    for name in environments:  # before rendering: a control character would break the YAML
        if any(not c.isprintable() for c in name):
            raise UsageError(f"--env: {quoted(name)} is not a valid environment name",
                             hint="lower-case letters and digits, starting with a letter")
    text = (TEMPLATE.replace("@URI@", _scalar(uri))
            .replace("@PLAIN_HTTP@", _PLAIN_HTTP_ON if plain_http else _PLAIN_HTTP_EXAMPLE)
            .replace("@FIRST@", _scalar(environments[0]))
            .replace("@ENVIRONMENTS@\n", _environment_lines(environments)))
    lines = [_example(line, examples) for line in text.splitlines()]
    rendered = "\n".join(lines) + "\n"
    _validate(rendered)
    return rendered


def _environment_lines(names: Sequence[str]) -> str:
    items = "".join(f"      - name: {_scalar(name)}\n" for name in names)
    return items + _LAST_ENVIRONMENT_EXAMPLES


def _example(line: str, enabled: bool) -> str:
    match = _EXAMPLE.match(line)
    if match is None:
        return line
    indent, body = match.groups()
    return f"{indent}{body}" if enabled else f"{indent}# {body}"


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: bare when that is unambiguous, else double-quoted (JSON)."""
    if _BARE.match(value) and ": " not in value and value.lower() not in (
            "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"):
        return value
    return json.dumps(value, ensure_ascii=False)


def _validate(text: str) -> None:
    """Load ``text`` as the real loader would; a problem with a name is the caller's usage
    error (their ``--env``), anything else a bug in the template (ConfigError, exit 2)."""
    data, lines = read_yaml(text, "manifest.yaml")
    try:
        parse_manifest(data, "manifest.yaml", lines)
    except ConfigError as err:
        problems = err.details.get("errors") or []
        names = [p for p in problems if ".environments" in str(p.get("key", ""))]
        if names:
            raise UsageError("--env: " + str(names[0]["message"]).removeprefix("Value error, "),
                             hint="environment names are listed in order, each once, e.g. "
                             "--env dev --env staging --env prod",
                             details={"errors": names}) from None
        raise

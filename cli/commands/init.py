"""``floe init``: write a commented manifest.yaml for a registry, ready for ``status``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output
from floe_ledger.domain.model.errors import ConfigError, UsageError

NEXT_STEPS = (
    ("floe doctor", "check the registry, ledger, trust root and gate commands"),
    ("floe artifact push bundle/*.yaml v1.0.0", "publish a version (or push it from your build)"),
    ("floe platform promote v1.0.0 --to {first}", "enter the first environment"),
    ("floe platform status", "what runs where"),
)


@click.command()
@click.argument("uri", metavar="URI")
@click.option("--env", "environments", multiple=True, metavar="NAME",
              help="An environment, in promotion order (repeat, or comma-separated); "
              "default dev, staging, prod.")
@click.option("--plain-http", is_flag=True,
              help="The registry speaks http, not https (a loopback registry only).")
@click.option("--force", is_flag=True, help="Replace an existing manifest.yaml.")
@floe_command()
def init(app: App, out: Output, uri: str, environments: tuple[str, ...], plain_http: bool,
         force: bool) -> None:
    """Write a commented manifest.yaml for the registry URI.

    URI is oci://host[:port]/repository, host[:port]/repository, or oci-layout:./dir (a
    directory, no server). The file lists the environments, a signature block and a gate
    example as comments to switch on; `floe platform status` works on it at once. An
    existing manifest.yaml is never replaced without --force (exit 2).

    \b
    Examples:
      floe init oci://registry.example.com/acme/platform
      floe init oci-layout:./oci --env dev --env prod
      floe init oci://127.0.0.1:5000/acme/app --plain-http --env dev,qa,prod
      floe init oci://registry.example.com/acme/platform --manifest deploy/manifest.yaml -o json
    """
    from floe_ledger.adapters.manifest.template import DEFAULT_ENVIRONMENTS, render_manifest

    out.trace_id = app.trace_id
    path = app.settings.manifest_path
    # spaces after commas are fine ("dev, prod"); a newline or tab is no part of a name
    names = [n.strip(" ") for value in environments for n in value.split(",")] or list(
        DEFAULT_ENVIRONMENTS)
    if plain_http:
        _check_plain_http(uri, path.parent)
    text = render_manifest(uri, names, plain_http=plain_http, base_dir=path.parent)
    existed = _write(path, text, force=force)
    flag = _manifest_flag(app)
    steps = [(cmd.format(first=names[0]) + flag, why) for cmd, why in NEXT_STEPS]
    if out.structured:
        out.result({"manifest": str(path), "registry": uri, "environments": names,
                    "plain_http": plain_http, "replaced": existed,
                    "next_steps": [cmd for cmd, _ in steps]})
        return
    from floe_ledger.cli.render.text import escape

    out.console.print(escape(f"{'replaced' if existed else 'wrote'} {path}: {uri}, "
                             f"environments {' -> '.join(names)}"))
    out.console.print("next:")
    width = max(len(cmd) for cmd, _ in steps)
    for cmd, why in steps:
        out.console.print(escape(f"  {cmd.ljust(width)}  # {why}"))


def _manifest_flag(app: App) -> str:
    """`` --manifest PATH`` when the next commands would not find the file by default."""
    path = app.settings.manifest_path
    if path == Settings.from_options(None, app.settings.env).manifest_path:
        return ""
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    return f" --manifest {shlex.quote(str(shown))}"


def _check_plain_http(uri: str, base_dir: Path) -> None:
    """``--plain-http`` only for a loopback registry, as the registry settings require."""
    from floe_ledger.adapters.registry.factory import check_plain_http
    from floe_ledger.adapters.registry.reference import RegistryLocation

    location = RegistryLocation.parse(uri, base_dir=base_dir)
    if location.is_layout:
        raise UsageError("--plain-http is for a registry server, not an oci-layout: directory",
                         hint="leave --plain-http out")
    try:
        check_plain_http(location.host, frozenset(), "artifacts.registry")
    except ConfigError:
        raise UsageError(f"--plain-http: {location.host} is not a loopback host; floe would send "
                         "credentials and artifacts to it over cleartext http",
                         hint="leave --plain-http out (https; ca_file for a private CA), or edit "
                         "manifest.yaml to list the host in registry.insecure_registries",
                         details={"host": location.host}) from None


def _write(path: Path, text: str, *, force: bool) -> bool:
    """Write ``text`` to ``path``; returns whether a file was replaced.

    Without ``force`` the file is created exclusively (an existing one, or a symlink, is
    exit 2); with it the new text replaces the old in one rename.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists() or path.is_symlink()
    if existed and not force:
        raise _exists(path)
    if not force:
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise _exists(path) from None
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return existed


def _exists(path: Path) -> UsageError:
    return UsageError(f"{path} already exists; floe init does not replace it",
                      hint="edit it (floe doctor checks it), pass --force to replace it, or "
                      "--manifest PATH to write another file",
                      details={"manifest": str(path)})

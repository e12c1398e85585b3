"""``floe``: promote immutable OCI artifacts through environments, with a verifiable ledger.

    floe platform promote v1.2.3 --to dev
    floe platform promote v1.2.3 --from dev --to staging -o json
    floe platform status --history 5
"""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from floe_ledger.cli.lazy import LazyCommands
from floe_ledger.cli.render.text import has_control, printable
from floe_ledger.domain.model.errors import quoted

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Every top-level command (each module names its group or command after itself), imported
#: only when the command line reaches it: start-up pays for the command that runs.
COMMANDS = LazyCommands({name: f"floe_ledger.cli.commands.{name}:{name}" for name in (
    "platform", "artifact", "ledger", "audit", "whoami", "schema", "webhooks", "init",
    "doctor", "completion", "gc", "metrics", "serve")})


class FloeGroup(click.Group):
    """The root command: what every command line goes through before any command runs.

    - An argument that is not UTF-8 (Linux hands Python its bytes as lone surrogates) is
      a usage error (exit 2): everything floe records or prints is UTF-8.
    - click's own usage errors quote what was typed; their control characters are shown
      escaped, so a typed value cannot add a line or move the cursor (security review §12).
    """

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        for arg in args if not extra.get("resilient_parsing") else ():  # not completion
            if _SURROGATE.search(arg):
                raise click.UsageError(
                    f"an argument is not valid UTF-8: {quoted(printable(arg))}")
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as err:
            raise _escaped(err) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            raise _escaped(err) from None


def _escaped(err: click.ClickException) -> click.ClickException:
    if not isinstance(err, click.UsageError) or not has_control(err.format_message()):
        return err
    return click.UsageError(printable(err.format_message()), ctx=err.ctx)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


@click.group(cls=FloeGroup, context_settings=CONTEXT, commands=COMMANDS)
@click.version_option(package_name="floe-ledger", prog_name="floe")
def cli() -> None:
    """Promote immutable OCI artifacts through environments (dev -> staging -> prod),
    recording every decision in an append-only, hash-chained ledger.

    Configuration is the "artifacts:" section of manifest.yaml (--manifest, or
    FLOE_MANIFEST): 'floe init URI' writes one, 'floe doctor' checks the set-up. The ledger
    is .floe/ledger.sqlite beside it, or FLOE_LEDGER_URL.

    Exit codes: 0 ok, 1 unexpected, 2 usage/config, 3 not found, 5 registry
    unavailable, 6 signature, 7 concurrent modification (retry), 8 gate failed,
    9 invalid transition, 10 tag exists, 11 never promoted there, 12 unauthorized,
    13 environment locked, 14 ledger integrity or drift.
    """


def main() -> None:
    # httpcore imports trio whenever it is installed (selenium brings it into a test
    # environment; other tools into users'), ~40 ms and ctypes on every command that
    # reaches a registry, for an async backend floe never uses. A None entry makes that
    # optional import fail, as for httpx._main (cli/__init__.py); only in the floe process,
    # only before httpcore is imported.
    if "httpcore" not in sys.modules:
        sys.modules.setdefault("trio", None)  # type: ignore[arg-type]
    cli(prog_name="floe", auto_envvar_prefix="FLOE")

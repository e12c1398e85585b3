"""``floe``: promote immutable OCI artifacts through environments, with a verifiable ledger.

    floe platform promote v1.2.3 --to dev
    floe platform promote v1.2.3 --from dev --to staging -o json
    floe platform status --history 5
"""

from __future__ import annotations

import click

from floe_ledger.cli.commands.artifact import artifact
from floe_ledger.cli.commands.audit import audit
from floe_ledger.cli.commands.completion import completion
from floe_ledger.cli.commands.doctor import doctor
from floe_ledger.cli.commands.init import init
from floe_ledger.cli.commands.ledger import ledger
from floe_ledger.cli.commands.platform import platform
from floe_ledger.cli.commands.schema import schema
from floe_ledger.cli.commands.webhooks import webhooks
from floe_ledger.cli.commands.whoami import whoami

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
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


cli.add_command(platform)
cli.add_command(artifact)
cli.add_command(ledger)
cli.add_command(audit)
cli.add_command(whoami)
cli.add_command(schema)
cli.add_command(webhooks)
cli.add_command(init)
cli.add_command(doctor)
cli.add_command(completion)


def main() -> None:
    cli(prog_name="floe", auto_envvar_prefix="FLOE")

"""``floe completion SHELL``: the shell completion script (click's, for the program ``floe``)."""

from __future__ import annotations

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output

SHELLS = ("bash", "zsh", "fish")
PROG_NAME = "floe"
COMPLETE_VAR = "_FLOE_COMPLETE"  # what click's main() answers: _{PROG}_COMPLETE=<shell>_complete


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@floe_command(manifest_option=False)
def completion(app: App, out: Output, shell: str) -> None:
    """Print the completion script for SHELL (bash 4.4+, zsh or fish).

    Commands, options, environment names (from manifest.yaml) and versions (from the
    ledger: those already in the --from or --env environment) complete on <TAB>. The
    script calls floe itself with _FLOE_COMPLETE set; completing never contacts the
    registry, never writes, and offers nothing rather than an error.

    \b
    Examples:
      eval "$(floe completion bash)"                  # in ~/.bashrc
      floe completion bash > ~/.local/share/bash-completion/completions/floe
      floe completion zsh > "${fpath[1]}/_floe"       # then: autoload -U compinit; compinit
      floe completion fish > ~/.config/fish/completions/floe.fish
    """
    from click.shell_completion import get_completion_class

    out.trace_id = app.trace_id
    root = click.get_current_context().find_root().command
    shell_class = get_completion_class(shell)
    assert shell_class is not None  # every name in SHELLS is one of click's
    script = shell_class(root, {}, PROG_NAME, COMPLETE_VAR).source()
    if out.structured:
        out.result({"shell": shell, "program": PROG_NAME, "complete_var": COMPLETE_VAR,
                    "script": script})
    else:
        click.echo(script, nl=not script.endswith("\n"))

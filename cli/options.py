"""``@floe_command``: what every command shares, stacked once.

    @click.command()
    @click.argument("version")
    @floe_command(traced=True)
    def promote(app: App, out: Output, version: str) -> None: ...

    platform.add_command(promote)

adds ``--manifest`` and ``-o/--output`` (and ``--ledger`` when asked), maps every error
to its exit code and JSON envelope (:func:`~floe_ledger.cli.output.handle_errors`), and
calls the command with the invocation's :class:`~floe_ledger.cli.app.App` and its
:class:`~floe_ledger.cli.output.Output`.

The App is ``ctx.obj`` of the root context: built when the first command asks for it
(after parsing, never at import), shared by everything in the invocation, and closed once
when the command ends, inside the error map so a failure while closing (the views' final
fold) still gets its exit code. A caller may put its own App there
(``CliRunner().invoke(cli, args, obj=app)``); ``--manifest`` is then ignored. Building an
App is cheap: every adapter is built on first use.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import click

from floe_ledger.cli.app import App, Settings
from floe_ledger.cli.output import FORMATS, Output, handle_errors
from floe_ledger.cli.render.text import has_control, printable
from floe_ledger.domain.model.errors import UsageError, quoted

MAX_ROWS = 1_000_000
"""The largest ``--limit`` / ``--history``: larger counts overflow what SQLite and Python's
containers take (exit 1 before), and no terminal shows more."""

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])
Body = Callable[Concatenate[App, Output, P], None]


def floe_command(*, traced: bool = False, ledger_option: bool = False,
                 manifest_option: bool = True) -> Callable[[Body[P]], Callable[..., None]]:
    """Wrap a command body ``(app, out, **options)`` into what click calls.

    Args:
        traced: start the trace before the body (commands that write or verify the
            ledger); read-only commands stay untraced and fast, and print a trace id all
            the same (the one the trace would have, chosen without OpenTelemetry).
        ledger_option: add ``--ledger PATH|URL`` (the ``floe audit`` commands).
        manifest_option: add ``--manifest`` (only ``floe artifact keygen`` has none).
    """
    def decorate(body: Body[P]) -> Callable[..., None]:
        @functools.wraps(body)
        def command(*args: Any, output: str, manifest: str | None = None,
                    ledger: str | None = None, **options: Any) -> None:
            out = Output(output)
            run: Callable[..., None] = body
            with handle_errors(out):
                app = _invocation_app(click.get_current_context(), manifest, ledger)
                out.trace_id = app.run_trace_id
                try:
                    if traced:
                        out.trace_id = app.trace_id
                        _say_ledger_mode(app, out)
                    run(app, out, *args, **options)
                finally:
                    app.close()

        wrapped: Callable[..., None] = _output_option(command)
        if manifest_option:
            wrapped = _manifest_option(wrapped)
        if ledger_option:
            wrapped = _ledger_option(wrapped)
        return wrapped

    return decorate


def _say_ledger_mode(app: App, out: Output) -> None:
    """In CI with a ledger of its own, say once which guarantees hold (README, "Many runners,
    many ledgers"): a runner's local ledger is easy to mistake for a shared one."""
    if app.settings.env.get("CI", "").lower() not in ("true", "1") or \
            app.ledger_location.kind != "sqlite":
        return
    out.err_console.print(f"floe: this runner's own ledger ({app.ledger_location.display}): locks, "
             "separation of duties and provenance hold as of the registry records read before "
             "each decision; set FLOE_LEDGER_URL to a shared PostgreSQL ledger to serialise "
             "decisions across runners", markup=False, highlight=False)


def _invocation_app(ctx: click.Context, manifest: str | None, ledger: str | None) -> App:
    root = ctx.find_root()
    if not isinstance(root.obj, App):
        root.obj = App(Settings.from_options(manifest, _ledger_env(ledger)))
    return root.obj


def _ledger_env(ledger: str | None) -> dict[str, str] | None:
    """The process environment with FLOE_LEDGER_URL set from ``--ledger`` (None: unchanged)."""
    if not ledger:
        return None
    is_url = ledger.startswith(("sqlite:", "postgresql://", "postgres://"))
    return dict(os.environ, FLOE_LEDGER_URL=ledger if is_url
                else f"sqlite:///{Path(ledger).absolute()}")


def _output_option(func: F) -> F:
    return click.option(
        "-o", "--output", "output", type=click.Choice(FORMATS), default="table",
        show_default=True, envvar="FLOE_OUTPUT", help="Result format; JSON/YAML are for scripts.",
    )(func)


def _manifest_option(func: F) -> F:
    return click.option(
        "--manifest", "manifest", type=click.Path(dir_okay=False), default=None,
        help="Path to manifest.yaml (default ./manifest.yaml, or FLOE_MANIFEST).",
    )(func)


def _ledger_option(func: F) -> F:
    return click.option("--ledger", default=None, metavar="PATH|URL",
                        help="The ledger to read (a SQLite file or FLOE_LEDGER_URL form); "
                        "default: beside manifest.yaml.")(func)


def plain_text(value: str | None, option: str) -> str | None:
    """``value`` unless it is blank or holds control characters (a newline, an ANSI
    escape): exit 2.

    Reasons are recorded for good and shown in history; a newline in one would forge a
    line there (security review §12). Output escapes them anyway; refusing at input
    tells the person typing instead of storing something that reads oddly forever.
    """
    if value is not None and has_control(value):
        raise UsageError(f"{option} may not contain control characters (newlines, tabs, "
                         f"terminal escapes): {quoted(printable(value))}",
                         hint="give the reason on one line of plain text")
    if value is not None and not value.strip():
        raise UsageError(f"{option} may not be empty", hint="say why, in a few words")
    return value


def require_reason(reason: str | None, what: str) -> str:
    """``--reason``, or a prompt on a terminal; a usage error (exit 2) off a terminal, or
    when it holds control characters."""
    if reason:
        return plain_text(reason, "--reason") or reason
    if sys.stdin.isatty():
        return plain_text(str(click.prompt(f"Reason for the {what}")), "the reason") or ""
    raise UsageError(f"--reason is required for a {what}",
                     hint="pass --reason TEXT (the prompt is only offered on a terminal)")


@contextlib.contextmanager
def writing(target: object) -> Iterator[None]:
    """An OSError while writing ``target`` (a name too long, a file where a folder must be,
    no permission) is a usage error naming it (exit 2), not an unexpected one."""
    try:
        yield
    except OSError as err:
        raise UsageError(f"cannot write {target}: {err.strerror or err}",
                         hint="choose a path in a folder you can write to") from None

"""Results to stdout (table, JSON or YAML), diagnostics to stderr; one error-to-exit map.

JSON and YAML documents carry ``success``, ``trace_id`` and ``error`` ({code, message,
hint}) plus the command's own fields. Nothing else is written to stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import click

from floe_ledger.domain.model.errors import ExitCode, FloeError

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "yaml")


class Output:
    """Where and how a command prints; rich is imported only for tables."""

    def __init__(self, fmt: str, trace_id: str = "", *, stdout: IO[str] | None = None,
                 stderr: IO[str] | None = None, width: int | None = None) -> None:
        """``stdout``, ``stderr`` and ``width`` replace the process's streams and the
        terminal's width for the rich consoles (tests render to a fixed-width buffer)."""
        self.fmt = fmt
        self.trace_id = trace_id
        self._stdout = stdout
        self._stderr = stderr
        self._width = width
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def structured(self) -> bool:
        return self.fmt in ("json", "yaml")

    @property
    def console(self) -> Console:
        if self._out is None:
            from rich.console import Console

            # Piped output (CI logs) gets room for a whole row; a terminal keeps its width.
            width = self._width or (None if sys.stdout.isatty() or os.environ.get("COLUMNS")
                                    else 160)
            self._out = Console(file=self._stdout, no_color=bool(os.environ.get("NO_COLOR")),
                                highlight=False, soft_wrap=True, width=width)
        return self._out

    @property
    def err_console(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(file=self._stderr, stderr=True,
                                no_color=bool(os.environ.get("NO_COLOR")), highlight=False,
                                soft_wrap=True, width=self._width)
        return self._err

    def document(self, payload: Any) -> None:
        """Print a JSON or YAML document to stdout."""
        if self.fmt == "yaml":
            import yaml

            sys.stdout.write(yaml.safe_dump(payload, sort_keys=False, allow_unicode=True))
        else:
            sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        sys.stdout.flush()

    def result(self, fields: dict[str, Any], *, success: bool = True,
               error: dict[str, Any] | None = None) -> None:
        """The command's fields in the envelope; ``error`` names what would stop a dry run."""
        self.document({"success": success, "trace_id": self.trace_id, "error": error, **fields})

    def note(self, text: str) -> None:
        """A human line on stderr (never on stdout in JSON/YAML mode)."""
        if self.structured:
            return
        self.err_console.print(text)

    def warn(self, text: str) -> None:
        from floe_ledger.cli.render.text import escape

        self.err_console.print(f"[yellow]warning:[/yellow] {escape(text)}")

    def error(self, err: FloeError) -> None:
        """The failure document (with the error's ``envelope`` fields), or red text on stderr."""
        if self.structured:
            self.document({"success": False, "trace_id": self.trace_id, "error": err.as_dict(),
                           **(err.envelope or {})})
            return
        from floe_ledger.cli.render.text import escape

        self.err_console.print(f"[bold red]error:[/bold red] {escape(err.message)}")
        if err.hint:
            self.err_console.print(f"[dim]hint:[/dim] {escape(err.hint)}")
        if self.trace_id:
            self.err_console.print(f"[dim]trace id: {self.trace_id}[/dim]")


@contextlib.contextmanager
def handle_errors(out: Output) -> Iterator[None]:
    """Map every exception to its exit code in one place, rendering it in the chosen format."""
    try:
        yield
    except FloeError as err:
        out.error(err)
        sys.exit(int(err.exit_code))
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except KeyboardInterrupt:
        out.error(FloeError("interrupted", hint="re-run the command; promotions resume"))
        sys.exit(130)
    except Exception as exc:  # the one place unexpected errors become exit 1
        from floe_ledger.adapters.observability.redact import scrub, secret_values

        # Scrubbed like the traceback: an exception's text may quote a credential.
        secrets = secret_values(os.environ)
        if os.environ.get("FLOE_DEBUG"):
            sys.stderr.write(scrub(traceback.format_exc(), secrets))
        out.error(FloeError(
            scrub(f"unexpected error: {type(exc).__name__}: {exc}", secrets),
            hint="set FLOE_DEBUG=1 for a traceback, and report it",
        ))
        sys.exit(int(ExitCode.UNEXPECTED))

"""``floe serve``: the read-only web dashboard (UI-01..UI-07)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command
from floe_ledger.cli.output import Output
from floe_ledger.cli.render.text import printable
from floe_ledger.domain.model.errors import UsageError, quoted

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
PathType = click.Path(path_type=Path, dir_okay=False)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on; anything but loopback needs --allow-remote.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="TCP port (0: any free port, printed when listening).")
@click.option("--allow-remote", is_flag=True,
              help="Allow a non-loopback --host: anyone who reaches it reads the ledger "
              "(there is no login).")
@click.option("--checkpoint", type=PathType, default=None,
              help="A signed checkpoint the audit page's verify checks (with --public-key).")
@click.option("--public-key", type=PathType, default=None, help="PEM key of the checkpoint.")
@floe_command(ledger_option=True)
def serve(app: App, out: Output, host: str, port: int, allow_remote: bool,
          checkpoint: Path | None, public_key: Path | None) -> None:
    """Serve a read-only web dashboard of the ledger until interrupted (Ctrl-C).

    Pages: environments x versions (what runs where, digest, who promoted it, when, locks,
    replicas), each version's path (gates, signature, authorization, rollback impact), a
    filterable timeline linking each event to its audit entry, the audit (verify now, chain
    heads, checkpoints, registry drift) and the DORA metrics. Pages refresh by themselves
    when the ledger moves. Nothing in the dashboard writes: every route answers GET only.

    \b
    Examples:
      floe serve                                   # http://127.0.0.1:8765/
      floe serve --port 9000 --manifest deploy/manifest.yaml
      floe serve --ledger postgresql://floe@db/floe
      floe serve --host 0.0.0.0 --allow-remote     # reachable from other machines
      floe serve --port 0 -o json                  # {"url": ...} once listening
    """
    import uvicorn

    from floe_ledger.cli.web.server import ServeState, dashboard

    if not is_loopback(host) and not allow_remote:
        raise UsageError(f"--host {quoted(printable(host))} is not a loopback address: the "
                         "dashboard has no login, so anyone who reaches it reads the ledger",
                         hint="add --allow-remote to serve it anyway, or keep the default "
                         f"--host {DEFAULT_HOST}")
    if (checkpoint is None) != (public_key is None):
        raise UsageError("--checkpoint and --public-key go together",
                         hint="give the checkpoint file and the PEM key that signed it")
    app.manifest  # noqa: B018  (a broken manifest is exit 2 before the server starts)
    if not is_loopback(host):
        out.warn(f"serving the ledger on {printable(host)}:{port} with no login: anyone who "
                 "can reach this address can read every environment, version and operator name")
    state = ServeState(app.settings, checkpoint=checkpoint, public_key=public_key)
    config = uvicorn.Config(dashboard(state), host=host, port=port, log_level="warning",
                            access_log=False, server_header=False)
    server = uvicorn.Server(config)
    _announce(server, out)
    server.run()


def _announce(server: object, out: Output) -> None:
    """Print the URL once the socket is bound (the real port, when --port 0 picked one)."""
    import uvicorn

    assert isinstance(server, uvicorn.Server)
    startup = server.startup

    async def started(sockets: list[socket.socket] | None = None) -> None:
        await startup(sockets=sockets)
        for srv in server.servers:
            for sock in srv.sockets:
                host, port = sock.getsockname()[:2]
                url = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
                if out.structured:  # one document, when listening: scripts read the URL
                    out.result({"url": url, "host": host, "port": port, "read_only": True})
                    sys.stdout.flush()
                else:
                    out.err_console.print(f"floe serve: {url} (read-only; Ctrl-C stops it)",
                                          markup=False, highlight=False)

    server.startup = started  # type: ignore[method-assign]

"""Where the ledger lives: ``FLOE_LEDGER_URL`` or ``.floe/ledger.sqlite`` beside manifest.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

from floe_ledger.domain.model.errors import ConfigError

UNPARSABLE = "postgresql://(a URL that does not parse)"


def split_postgres_url(url: str) -> SplitResult | None:
    """The parts of a ``postgresql://`` URL, or None when they do not parse: a port that is
    not a number, a bracketed host left open, or an ``@`` after the host (a ``/``, ``?`` or
    ``#`` in the password, not percent-encoded, cut the userinfo there). The pieces of such
    a URL are pieces of the password: never quote them."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return None
    after_host = url.split("://", 1)[-1][len(parts.netloc):]
    return None if "@" in after_host else parts


@dataclass(frozen=True)
class LedgerLocation:
    """``kind`` is ``sqlite`` (``path``) or ``postgresql`` (``url``)."""

    kind: str
    path: Path | None = None
    url: str | None = None

    @property
    def display(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        parts = split_postgres_url(self.url or "")
        if parts is None:
            return UNPARSABLE
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"postgresql://{host}{port}{parts.path}"  # never the password


def ledger_location(url: str | None, manifest_dir: Path) -> LedgerLocation:
    """Parse ``FLOE_LEDGER_URL``; default is ``<manifest dir>/.floe/ledger.sqlite``.

    Args:
        url: ``sqlite:///abs/path``, ``sqlite:relative/path``, ``postgresql://...``, or None.
        manifest_dir: the directory holding manifest.yaml.
    """
    if not url:
        return LedgerLocation("sqlite", path=(manifest_dir / ".floe" / "ledger.sqlite").resolve())
    if url.startswith("sqlite:"):
        raw = url[len("sqlite:"):]
        raw = raw[2:] if raw.startswith("//") else raw
        if not raw or raw in (":memory:", "/:memory:"):
            raise ConfigError(
                "FLOE_LEDGER_URL names an in-memory SQLite ledger, which would lose every event",
                hint="use sqlite:///path/to/ledger.sqlite",
            )
        try:
            resolved = (manifest_dir / Path(unquote(raw))).resolve()
        except (OSError, ValueError) as err:  # a name too long, a NUL (%00) in it
            raise ConfigError(f"the ledger path {raw!r} cannot be used: {err}",
                              hint="use sqlite:///path/to/ledger.sqlite") from None
        return LedgerLocation("sqlite", path=resolved)
    if url.startswith(("postgresql://", "postgres://")):
        if split_postgres_url(url) is None:
            raise ConfigError(  # quotes nothing of the URL: its pieces may be the password's
                "FLOE_LEDGER_URL does not parse as postgresql://user:password@host:port/dbname "
                "(a port that is not a number, or a /, ?, # or @ in the user name or password "
                "that is not percent-encoded)",
                hint="percent-encode those characters in the password (/ as %2F, ? as %3F, "
                "# as %23, @ as %40), or leave the password out and set PGPASSWORD",
                details={"key": "FLOE_LEDGER_URL"},
            )
        return LedgerLocation("postgresql", url=url)
    raise ConfigError(
        f"FLOE_LEDGER_URL has an unsupported scheme: {url.split(':', 1)[0]!r}",
        hint="use sqlite:///path/to/ledger.sqlite or postgresql://user@host:port/db",
    )

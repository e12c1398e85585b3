"""Where the ledger lives: ``FLOE_LEDGER_URL`` or ``.floe/ledger.sqlite`` beside manifest.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from floe_ledger.domain.model.errors import ConfigError


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
        parts = urlsplit(self.url or "")
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
        return LedgerLocation("postgresql", url=url)
    raise ConfigError(
        f"FLOE_LEDGER_URL has an unsupported scheme: {url.split(':', 1)[0]!r}",
        hint="use sqlite:///path/to/ledger.sqlite or postgresql://user@host:port/db",
    )

"""Where the artifacts live: parse the ``artifacts.registry.uri`` setting.

Accepted forms::

    oci://registry.example.com/acme/floe-platform       a distribution registry
    registry.example.com:5000/acme/floe-platform        the same, without the scheme
    oci-layout:./artifacts                               an OCI image-layout directory
                                                         (relative to the manifest's folder)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from floe_ledger.domain.model.errors import ConfigError

KEY = "artifacts.registry.uri"
LAYOUT_PREFIX = "oci-layout:"
OCI_PREFIX = "oci://"

_HOST_RE = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z"
)
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")


@dataclass(frozen=True)
class RegistryLocation:
    """A parsed ``artifacts.registry.uri``: a registry repository or a layout directory."""

    kind: str  # "distribution" | "layout"
    host: str = ""
    repository: str = ""
    path: Path | None = None

    @property
    def is_layout(self) -> bool:
        """Whether this names an OCI image-layout directory."""
        return self.kind == "layout"

    @property
    def uri(self) -> str:
        """The canonical URI, for display and events."""
        if self.is_layout:
            return f"{LAYOUT_PREFIX}{self.path}"
        return f"{OCI_PREFIX}{self.host}/{self.repository}"

    @classmethod
    def parse(cls, value: str, *, base_dir: Path) -> RegistryLocation:
        """Parse a registry URI.

        Args:
            value: the setting's value.
            base_dir: the folder relative ``oci-layout:`` paths are resolved against.

        Returns:
            The location.

        Raises:
            ConfigError: the value is malformed; the message names the key.
        """
        text = value.strip()
        if not text:
            raise _bad(value, "it is empty")
        if text.startswith(LAYOUT_PREFIX):
            return cls._parse_layout(text[len(LAYOUT_PREFIX) :], value, base_dir)
        if text.startswith(OCI_PREFIX):
            return cls._parse_distribution(text[len(OCI_PREFIX) :], value)
        if "://" in text:
            scheme = text.split("://", 1)[0]
            raise _bad(value, f"the scheme {scheme}:// is not supported")
        first = text.split("/", 1)[0]
        if "." not in first and ":" not in first and first != "localhost":
            raise _bad(value, f"{first!r} is not a registry host (no '.' or ':' in it)")
        return cls._parse_distribution(text, value)

    @classmethod
    def _parse_layout(cls, raw: str, value: str, base_dir: Path) -> RegistryLocation:
        if not raw.strip():
            raise _bad(value, "oci-layout: needs a directory path")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        return cls(kind="layout", path=Path(_normpath(path)))

    @classmethod
    def _parse_distribution(cls, text: str, value: str) -> RegistryLocation:
        host, _, repository = text.rstrip("/").partition("/")
        if not _HOST_RE.match(host):
            raise _bad(value, f"{host!r} is not a registry host[:port]")
        if not repository:
            raise _bad(value, "it names no repository after the host")
        if "@" in repository or ":" in repository:
            raise _bad(value, "it must name a repository, not a tag or digest")
        for part in repository.split("/"):
            if not _COMPONENT_RE.match(part):
                raise _bad(value, f"repository path component {part!r} is not valid")
        return cls(kind="distribution", host=host.lower(), repository=repository)


def _normpath(path: Path) -> str:
    return os.path.normpath(path)


def _redact(value: str) -> str:
    """Hide a ``user:password@`` part someone put in the URI."""
    return re.sub(r"^((?:[a-z][a-z0-9+.-]*://)?)[^/]*@", r"\1***@", value.strip())


def _bad(value: str, why: str) -> ConfigError:
    shown = _redact(value)
    if shown != value.strip():
        why = "credentials do not belong in the URI"
    return ConfigError(
        f"{KEY} = {shown!r} is not valid: {why}",
        hint="use oci://host[:port]/namespace/repo, host[:port]/namespace/repo, "
        "or oci-layout:./path",
        details={"key": KEY, "value": shown},
    )

"""What shell completion needs from manifest.yaml, read without validating it.

    outline = peek_manifest(Path("manifest.yaml"))   # None: missing, unreadable, not YAML
    outline.environments                              # ("dev", "staging", "prod")
    outline.repository                                # "oci://host/acme/app", as status names it

Completion runs on every <TAB>: it must be quick and must never fail, so this reads the
YAML (1.2, as the loader does) and picks two things out of it. Anything it does not
understand gives None or the default path; it never raises and never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from floe_ledger.adapters.registry.reference import RegistryLocation
from floe_ledger.domain.model.errors import FloeError

DEFAULT_PATH = ("dev", "staging", "prod")


@dataclass(frozen=True)
class ManifestOutline:
    repository: str | None
    environments: tuple[str, ...]


def peek_manifest(path: Path) -> ManifestOutline | None:
    """The repository and environment names of ``path``, or None if it cannot be read."""
    try:
        document = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
        artifacts = _mapping(_mapping(document).get("artifacts"))
        return ManifestOutline(_repository(artifacts, path.parent), _environments(artifacts))
    except Exception:  # completion never fails: a broken manifest completes nothing
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _environments(artifacts: dict[str, Any]) -> tuple[str, ...]:
    promotion = _mapping(artifacts.get("promotion"))
    if "environments" not in promotion:
        return DEFAULT_PATH
    entries = promotion.get("environments")
    if not isinstance(entries, list):
        return ()
    return tuple(str(e["name"]) for e in entries
                 if isinstance(e, dict) and isinstance(e.get("name"), str))


def _repository(artifacts: dict[str, Any], base_dir: Path) -> str | None:
    uri = _mapping(artifacts.get("registry")).get("uri")
    if not isinstance(uri, str):
        return None
    try:
        return RegistryLocation.parse(uri, base_dir=base_dir).uri
    except FloeError:
        return None

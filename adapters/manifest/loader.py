"""Load and validate manifest.yaml; every problem names the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from floe_ledger.domain.model.config import ManifestConfig
from floe_ledger.domain.model.errors import ConfigError


def load_manifest(path: Path) -> ManifestConfig:
    """Read ``path`` and validate its ``artifacts:`` section.

    Raises:
        ConfigError: the file is missing, is not YAML, or a key is wrong (exit 2).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file",
            hint="pass --manifest PATH (or FLOE_MANIFEST), or run 'make demo' for an example",
        ) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from None
    return parse_manifest(data, str(path))


def parse_manifest(data: Any, source: str = "manifest.yaml") -> ManifestConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with an 'artifacts' key")
    try:
        return ManifestConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = len(err.errors()) - 1
        raise ConfigError(
            f"{source}: {key}: {first['msg']}",
            hint=f"fix that key{f' (and {more} more problem(s))' if more else ''}; "
            "see README.md 'Configuration'",
            details={"file": source, "errors": [
                {"key": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in err.errors()
            ]},
        ) from None

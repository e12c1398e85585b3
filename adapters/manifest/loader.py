"""Load and validate manifest.yaml; every problem names the file, the key and its line.

manifest.yaml is read with YAML 1.2 semantics (ruamel.yaml): ``off``, ``yes``, ``no``, ``on``,
``y`` and ``n`` are strings, as a user writing ``enforcement: off`` means, not the booleans
YAML 1.1 turned them into. Where a field expects a string and the YAML gives another kind of
scalar (``1e3``, ``0777``, ``2026-01-01``, ``null``, ``true``), the error says which key, on
which line, and that quoting it keeps it a string.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from floe_ledger.domain.model.config import ManifestConfig
from floe_ledger.domain.model.errors import ConfigError

Lines = dict[tuple[str, ...], int]


def load_manifest(path: Path) -> ManifestConfig:
    """Read ``path`` and validate its ``artifacts:`` section.

    Raises:
        ConfigError: the file is missing, not UTF-8, not YAML, or a key is wrong (exit 2).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file",
            hint="pass --manifest PATH (or FLOE_MANIFEST), or run 'make demo' for an example",
        ) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 (byte {err.start})",
                          hint="save manifest.yaml as UTF-8") from None
    data, lines = read_yaml(text, str(path))
    return parse_manifest(data, str(path), lines)


def read_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """The document as plain Python values (YAML 1.2), and the line of every key."""
    try:
        document = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{source}:{where}: not valid YAML: {err.problem or err}") from None
    except YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {err}") from None
    lines: Lines = {}
    return _plain(document, (), lines), lines


def _plain(node: Any, path: tuple[str, ...], lines: Lines) -> Any:
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            where = (*path, str(key))
            position = node.lc.key(key)
            if position is not None:
                lines[where] = position[0] + 1
            out[str(key)] = _plain(value, where, lines)
        return out
    if isinstance(node, CommentedSeq):
        return [_plain(v, (*path, str(i)), lines) for i, v in enumerate(node)]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (str, int, float):
        if isinstance(node, kind):
            return kind(node)
    return node  # dates and timestamps: validation names them


def parse_manifest(data: Any, source: str = "manifest.yaml",
                   lines: Lines | None = None) -> ManifestConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with an 'artifacts' key")
    try:
        return ManifestConfig.model_validate(data)
    except ValidationError as err:
        problems = [_problem(e, lines or {}) for e in err.errors()]
        first = problems[0]
        more = len(problems) - 1
        raise ConfigError(
            f"{source}: {first['where']}: {first['message']}",
            hint=f"fix that key{f' (and {more} more problem(s))' if more else ''}; "
            "see docs/conventions.md#manifest",
            details={"file": source, "errors": [
                {"key": p["key"], "line": p["line"], "message": p["message"]}
                for p in problems]},
        ) from None


def _problem(error: Any, lines: Lines) -> dict[str, Any]:
    loc = tuple(str(p) for p in error["loc"])
    key = ".".join(loc) or "(top level)"
    line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
    message = str(error["msg"])
    given = error.get("input")
    if error["type"] in ("string_type", "literal_error", "enum") and not isinstance(given, str):
        kind = _kind(given)
        if kind:
            message += (f" (the YAML value is {kind}, not a string: quote it, e.g. "
                        f"'{given}')")
    return {"key": key, "line": line, "message": message,
            "where": f"{key} (line {line})" if line else key}


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, date):
        return "a date"
    if value is None:
        return "null"
    return None

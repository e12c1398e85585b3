"""Load and validate manifest.yaml; every problem names the file, the key and its line.

manifest.yaml is read with YAML 1.2 semantics (ruamel.yaml): ``off``, ``yes``, ``no``, ``on``,
``y`` and ``n`` are strings, as a user writing ``enforcement: off`` means, not the booleans
YAML 1.1 turned them into. Where a field expects a string and the YAML gives another kind of
scalar (``1e3``, ``0777``, ``2026-01-01``, ``null``, ``true``), the error says which key, on
which line, and that quoting it keeps it a string.

Hostile files are refused with exit 2, never a traceback, and in bounded memory and time
(docs/hostile-input.md): at most :data:`MAX_BYTES` are read (a pipe or ``/dev/zero`` too);
aliases are never expanded past :data:`MAX_VALUES` values (a "billion laughs" document is
refused, not built); nesting deeper than :data:`MAX_DEPTH` and an alias inside the node it
names are refused by key.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from floe_ledger.adapters.manifest import MAX_BYTES
from floe_ledger.adapters.system.files import FileTooLargeError, read_limited
from floe_ledger.domain.model.config import ManifestConfig
from floe_ledger.domain.model.errors import ConfigError

Lines = dict[tuple[str, ...], int]

MAX_VALUES = 100_000
"""Most values (mappings, lists and scalars, aliases expanded) a manifest may hold."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (floe's own keys go 7 deep)."""
_SHOWN = 200
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def load_manifest(path: Path) -> ManifestConfig:
    """Read ``path`` and validate its ``artifacts:`` section.

    Raises:
        ConfigError: the file is missing, too large, not UTF-8, not YAML, or a key is
            wrong (exit 2).
    """
    raw = read_manifest_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 (byte {err.start})",
                          hint="save manifest.yaml as UTF-8") from None
    data, lines = read_yaml(text, str(path))
    return parse_manifest(data, str(path), lines)


def read_manifest_bytes(path: Path) -> bytes:
    """The file's bytes, at most :data:`MAX_BYTES`; ConfigError (exit 2) otherwise."""
    try:
        return read_limited(path, MAX_BYTES)
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file",
            hint="pass --manifest PATH (or FLOE_MANIFEST), or run 'make demo' for an example",
        ) from None
    except FileTooLargeError:
        raise ConfigError(f"{path}: larger than {MAX_BYTES // 1024} KiB; not read",
                          hint="manifest.yaml holds floe's configuration: a few KiB") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    except ValueError as err:  # a NUL in the path: no file can have that name
        raise ConfigError(f"{path!r}: not a file name ({err})") from None


def read_yaml(text: str, source: str) -> tuple[Any, Lines]:
    """The document as plain Python values (YAML 1.2), and the line of every key."""
    _check_flow_depth(text, source)
    try:
        document = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = _short(str(err.problem or err))
        raise ConfigError(f"{source}:{where}: not valid YAML: {problem}") from None
    except YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {_short(str(err))}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not read: nested more than {MAX_DEPTH} levels deep",
                          hint="manifest.yaml's own keys nest 7 levels deep") from None
    except (ValueError, LookupError, TypeError, AssertionError) as err:
        # ruamel's constructors and resolver fail this way on some malformed input (a
        # bad !!bool or !!timestamp, a 5000-digit integer, "%YAML 2.0" or "1.3")
        raise ConfigError(f"{source}: not valid YAML: {type(err).__name__}: "
                          f"{_short(str(err))}") from None
    reader = _Plain(source)
    return reader.value(document, (), frozenset()), reader.lines


def _check_flow_depth(text: str, source: str) -> None:
    """Refuse ``[[[[…`` or ``{{{{…`` past :data:`MAX_DEPTH` before ruamel sees it: its
    scanner takes time quadratic in the depth of flow collections (seconds at 1000).

    Brackets are counted wherever they are, quoted or not: a manifest would need 64
    unmatched ``[`` or ``{`` in its strings to be refused by mistake.
    """
    depth = 0
    for char in _NOT_BRACKETS.sub("", text):
        depth = depth + 1 if char in "[{" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            raise ConfigError(f"{source}: not read: nested more than {MAX_DEPTH} levels deep",
                              hint="manifest.yaml's own keys nest 7 levels deep")


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


class _Plain:
    """ruamel's round-trip nodes as plain dicts, lists and scalars, counting every value
    (aliases count each time they are used) and noting the line of every key."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: Lines = {}
        self.values = 0

    def value(self, node: Any, path: tuple[str, ...], parents: frozenset[int]) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise ConfigError(
                f"{self.source}: more than {MAX_VALUES} values once aliases are expanded; "
                "not read", hint="an alias that repeats an alias many times (a 'billion "
                "laughs' document) is refused; write the values out")
        if isinstance(node, CommentedMap | CommentedSeq):
            return self._container(node, path, parents)
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, str):
            return self._unicode(str(node), path)
        for kind in (int, float):
            if isinstance(node, kind):
                return kind(node)
        return node  # dates and timestamps: validation names them

    def _unicode(self, text: str, path: tuple[str, ...]) -> str:
        """``text`` with its ``\\uD83D\\uDE00`` escape pairs joined (ruamel keeps them as
        two surrogates); a lone surrogate is refused, since nothing can encode it."""
        if not _SURROGATE.search(text):
            return text
        try:
            return text.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            key = _short(".".join(path) or "(top level)")
            line = next((self.lines[path[:n]] for n in range(len(path), 0, -1)
                         if path[:n] in self.lines), None)
            where = f"{key} (line {line})" if line else key
            raise ConfigError(f"{self.source}: {where}: a \\u escape names half a character "
                              "(a lone surrogate)", hint="write the character itself") from None

    def _container(self, node: CommentedMap | CommentedSeq, path: tuple[str, ...],
                   parents: frozenset[int]) -> Any:
        key = _short(".".join(path) or "(top level)")
        if id(node) in parents:
            raise ConfigError(f"{self.source}: {key}: an alias refers to a node that contains it",
                              hint="a recursive YAML structure has no plain value")
        if len(path) >= MAX_DEPTH:
            raise ConfigError(f"{self.source}: {key}: nested more than {MAX_DEPTH} levels deep")
        inside = parents | {id(node)}
        if isinstance(node, CommentedSeq):
            return [self.value(v, (*path, str(i)), inside) for i, v in enumerate(node)]
        out = {}
        positions = node.lc.data or {}
        for name, value in node.items():
            where = (*path, str(name))
            if name in positions:
                self.lines[where] = positions[name][0] + 1
            out[self._unicode(str(name), where)] = self.value(value, where, inside)
        return out


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

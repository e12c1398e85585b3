"""Every error message floe can produce that is written in its source: a small AST walk.

    for msg in error_messages(ROOT):
        msg.where, msg.field, msg.texts     # "domain/model/values.py:31", "message", [...]

A message is the first argument (``message``) or the ``hint=`` of a call that builds an
error: a :class:`FloeError` subclass (found by walking the class definitions), click's
``UsageError``/``BadParameter``, or ``InvalidRecord``. Each is rendered to the texts it can
produce: literal parts are kept, an inline ``a if c else b`` gives both branches, a local
name assigned only string expressions in the same function is replaced by each of them,
and anything else (a value only known at run time) becomes ``X``.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LAYERS = ("domain", "projections", "adapters", "cli")
PLACEHOLDER = "X"
EXTRA_ERRORS = {"UsageError", "BadParameter", "ClickException", "InvalidRecord"}
MAX_VARIANTS = 32


@dataclass(frozen=True)
class Message:
    where: str
    field: str  # "message" or "hint"
    texts: tuple[str, ...]


def error_classes(root: Path) -> set[str]:
    """Names of FloeError and every class that derives from it (by name, across modules)."""
    bases: dict[str, set[str]] = {}
    for tree in _trees(root):
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(b) for b in node.bases)
    found = {"FloeError"}
    while True:
        more = {cls for cls, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def error_messages(root: Path) -> Iterator[Message]:
    errors = error_classes(root) | EXTRA_ERRORS
    for path, tree in _files(root):
        for func in [n for n in ast.walk(tree)
                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module))]:
            names = _assignments(func)
            for call in _own_calls(func):
                if _name(call.func) not in errors:
                    continue
                where = f"{path.relative_to(root)}:{call.lineno}"
                if call.args:
                    yield Message(where, "message", _render(call.args[0], names))
                for kw in call.keywords:
                    if kw.arg == "hint":
                        yield Message(where, "hint", _render(kw.value, names))


def _trees(root: Path) -> Iterator[ast.Module]:
    for _, tree in _files(root):
        yield tree


def _files(root: Path) -> Iterator[tuple[Path, ast.Module]]:
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _own_calls(scope: ast.AST) -> Iterator[ast.Call]:
    """Calls in ``scope`` but not in the functions nested in it (they are scopes too)."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _assignments(scope: ast.AST) -> dict[str, list[ast.expr]]:
    """Local names bound only to string-like expressions in ``scope`` (one list per name)."""
    found: dict[str, list[ast.expr]] = {}
    spoiled: set[str] = set()
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            target = node.targets[0].id
            if isinstance(node.value, (ast.Constant, ast.JoinedStr, ast.IfExp)):
                found.setdefault(target, []).append(node.value)
            else:
                spoiled.add(target)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target,
                                                                             ast.Name):
            spoiled.add(node.target.id)
    return {k: v for k, v in found.items() if k not in spoiled}


def _render(node: ast.expr, names: dict[str, list[ast.expr]], depth: int = 0) -> tuple[str, ...]:
    if depth > 4:
        return (PLACEHOLDER,)
    if isinstance(node, ast.Constant):
        return (node.value,) if isinstance(node.value, str) else (PLACEHOLDER,)
    if isinstance(node, ast.IfExp):
        return _cap(_render(node.body, names, depth + 1) + _render(node.orelse, names, depth + 1))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _product([_render(node.left, names, depth + 1),
                         _render(node.right, names, depth + 1)])
    if isinstance(node, ast.JoinedStr):
        parts = [_render(v.value if isinstance(v, ast.FormattedValue) else v, names, depth + 1)
                 for v in node.values]
        return _product(parts)
    if isinstance(node, ast.Name) and node.id in names:
        return _cap(tuple(itertools.chain.from_iterable(
            _render(v, names, depth + 1) for v in names[node.id])))
    return (PLACEHOLDER,)


def _product(parts: list[tuple[str, ...]]) -> tuple[str, ...]:
    return _cap(tuple("".join(p) for p in itertools.product(*parts)))


def _cap(texts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(texts))[:MAX_VARIANTS]

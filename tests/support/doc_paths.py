"""Where a fuzz test can mutate a JSON-like document: the path of every node in it."""

from __future__ import annotations

from typing import Any


def node_paths(node: Any, items: int | None = None,
               path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path (keys and list indexes) of ``node`` and of every node below it, depth first,
    ``()`` first; only a list's first ``items`` entries when ``items`` is given."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += node_paths(value, items, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:items]):
            found += node_paths(value, items, (*path, i))
    return found

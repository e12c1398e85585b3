"""Subcommands imported when they are looked up, not when ``floe`` starts.

    group = click.Group("floe", commands=LazyCommands({
        "platform": "floe_ledger.cli.commands.platform:platform",
        "audit": "floe_ledger.cli.commands.audit:audit",
    }))

``floe platform promote`` imports the platform commands only: not doctor's diagnostics,
the audit exporters or the schema generator, each of which pulls in modules (pydantic
models, gate runners) promote does not use (NFR-001, start-up). The names are known up
front, so click lists, matches and suggests them without importing anything; the help
listing (``floe --help``) and anything that walks the tree (``commands.items()``) import
each command as it reaches it, and get the same objects an eager import would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from importlib import import_module

import click


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's ``commands``: ``name -> "module:attribute"``, imported on first access."""

    def __init__(self, targets: Mapping[str, str]) -> None:
        self._targets = dict(targets)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, _, attribute = self._targets[name].partition(":")  # KeyError if unknown
            command = getattr(import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self._targets[name]} is not a click command")
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._targets.pop(name, None)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._targets and name not in self._loaded:
            raise KeyError(name)
        self._targets.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._targets or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        yield from self._targets
        yield from (name for name in self._loaded if name not in self._targets)

    def __len__(self) -> int:
        return len(self._targets.keys() | self._loaded.keys())

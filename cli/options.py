"""Options shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def manifest_option(func: F) -> F:
    return click.option(
        "--manifest", "manifest", type=click.Path(dir_okay=False), default=None,
        help="Path to manifest.yaml (default ./manifest.yaml, or FLOE_MANIFEST).",
    )(func)

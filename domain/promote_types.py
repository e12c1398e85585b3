"""What a promotion is asked to do, and what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PromoteRequest:
    version: str
    source: str | None
    target: str
    force: bool = False
    dry_run: bool = False
    use_cache: bool = True
    break_glass: str | None = None


@dataclass
class PromoteResult:
    promotion_id: str
    version: str
    digest: str
    artifact_tag: str
    source: str | None
    target: str
    tags: list[str] = field(default_factory=list)
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    signature: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    registries: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    resumed: bool = False
    nothing_written: bool = False
    blocking: list[dict[str, Any]] = field(default_factory=list)
    record_digest: str | None = None
    pending_tag: tuple[str, bool] | None = field(default=None, repr=False)

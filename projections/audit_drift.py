"""Drift: the tags the ledger wrote, compared with the tags the registry has now.

Pure: :class:`TagFold` is fed decoded events; :func:`compare_tags` is given the live
digests the caller read from the registry::

    fold = TagFold()
    for event in events:
        fold.feed(event)
    compare_tags(fold.tags(registry.uri), live, ("dev", "staging", "prod"))
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from floe_ledger.domain.model import events as ev
from floe_ledger.domain.model.state import ledger_id
from floe_ledger.domain.model.values import split_env_tag


@dataclass(frozen=True)
class ExpectedTag:
    """A tag the ledger wrote (or observed) and the digest it must name."""

    tag: str
    digest: str
    mutable: bool
    event_version: int
    kind: str
    at: datetime | None = None  # when the ledger wrote it (a mutable tag: the last time)


@dataclass(frozen=True)
class TagDrift:
    """A tag that is not what the ledger says: ``moved``, ``deleted`` or ``untracked``."""

    tag: str
    status: str
    expected: str | None
    live: str | None
    event_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TagFold:
    """Per registry URI, the tags the ledger wrote; plus which promotions and rollbacks were
    requested and which completed."""

    def __init__(self) -> None:
        self._tags: dict[str, dict[str, ExpectedTag]] = {}
        self._repository: dict[str, str] = {}
        self.completed: set[str] = set()
        self.requested: set[str] = set()
        self.rollbacks_requested: set[str] = set()
        self.rolled_back: set[str] = set()
        self.digests: set[str] = set()
        self.ledger_ids: set[str] = set()  # this ledger's id (one per stream it holds)
        #: environment tags floe wrote, observed or adopted -> the digest each must name
        self.explained: dict[str, str] = {}

    def feed(self, event: ev.ArtifactEvent) -> None:
        aid = str(event.originator_id)
        if isinstance(event, ev.ArtifactRegistered):
            self._repository[aid] = event.repository
            self.ledger_ids.add(ledger_id(event.originator_id, event.timestamp))
        elif isinstance(event, ev.VersionAdopted):  # evidence only while it names the digest
            self._put(self._repository.get(aid, ""), event.tag, event.digest, False, event)
            self.explained[event.tag] = event.digest
        elif isinstance(event, ev.RecordObserved):
            if event.subject_digest:  # a lock of an environment that ran nothing has none
                self.digests.add(event.subject_digest)
            if event.record_kind in ("promotion", "adoption") and event.version:
                self.explained[f"{event.version}-{event.environment}"] = event.subject_digest
        elif isinstance(event, ev.VersionObserved) and event.environment:
            self._put(self._repository.get(aid, ""), event.tag, event.digest, False, event)
        elif isinstance(event, ev.TagWritten):
            self._put(event.registry, event.tag, event.digest, event.mutable, event)
            self.explained[event.tag] = event.digest
        elif isinstance(event, ev.RollbackRequested):
            self.rollbacks_requested.add(event.rollback_id)
        elif isinstance(event, ev.RolledBack):
            self.rolled_back.add(event.rollback_id)
            repo = self._repository.get(aid, "")
            self._put(repo, event.rollback_tag, event.digest, False, event)
            self._put(repo, f"latest-{event.environment}", event.digest, True, event)
        elif isinstance(event, ev.PromotionRequested):
            self.requested.add(event.promotion_id)
        elif isinstance(event, ev.PromotionCompleted):
            self.completed.add(event.promotion_id)
        elif isinstance(event, ev.TagsCollected):  # floe gc deleted them: not drift
            tags = self._tags.get(event.registry, {})
            for tag in [*event.deleted, *event.absent]:
                tags.pop(tag, None)
        digest = getattr(event, "digest", None)
        if isinstance(digest, str) and digest:
            self.digests.add(digest)

    def _put(self, registry: str, tag: str, digest: str, mutable: bool,
             event: ev.ArtifactEvent) -> None:
        tags = self._tags.setdefault(registry, {})
        if mutable or tag not in tags:
            tags[tag] = ExpectedTag(tag, digest, mutable, event.originator_version, event.kind,
                                    event.timestamp)

    def tags(self, registry: str) -> dict[str, ExpectedTag]:
        return dict(self._tags.get(registry, {}))


def compare_tags(expected: dict[str, ExpectedTag], live: dict[str, str | None],
                 environments: tuple[str, ...] = ()) -> list[TagDrift]:
    """Drift between the ledger's tags and the registry's.

    Args:
        expected: the tags the ledger wrote.
        live: every tag to compare, mapped to the digest it names now (None: absent).
        environments: environment names; a live ``latest-<env>`` or rollback tag the
            ledger never wrote is reported as ``untracked``.
    """
    drift = []
    for tag, want in sorted(expected.items()):
        got = live.get(tag)
        if got is None:
            drift.append(TagDrift(tag, "deleted", want.digest, None, want.event_version))
        elif got != want.digest:
            drift.append(TagDrift(tag, "moved", want.digest, got, want.event_version))
    pattern = _floe_only_tags(environments)
    for tag, got in sorted(live.items()):
        if tag not in expected and got is not None and pattern and pattern.match(tag):
            drift.append(TagDrift(tag, "untracked", None, got))
    return drift


def unexplained_tags(live: dict[str, str | None], explained: set[str],
                     environments: tuple[str, ...], trusted: tuple[str, ...]) -> list[TagDrift]:
    """``{version}-{env}`` tags that nothing floe recorded explains (pushed by hand or by
    another tool, or moved since), in the environments whose unrecorded tags are not trusted.

    ``explained``: the tags whose live digest is the one floe recorded."""
    drift = []
    for tag, got in sorted(live.items()):
        split = split_env_tag(tag, environments)
        if got is None or split is None or split[1] in trusted or tag in explained:
            continue
        drift.append(TagDrift(tag, "unexplained", None, got))
    return drift


def _floe_only_tags(environments: tuple[str, ...]) -> re.Pattern[str] | None:
    """Tags only floe writes: ``latest-<env>`` and ``<version>-<env>-rollback-<N>``."""
    if not environments:
        return None
    envs = "|".join(re.escape(e) for e in environments)
    return re.compile(rf"^(?:latest-(?:{envs})|.+-(?:{envs})-rollback-\d+)$")

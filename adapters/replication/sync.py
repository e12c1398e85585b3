"""`floe platform sync`: find replicas behind the ledger and bring them level (FR-029).

    expected = {"v1.2.3-prod": "sha256:ab...", "latest-prod": "sha256:ab..."}  # from the ledger
    for drift in sync_status(primary, replicas, expected):
        print(drift.uri, drift.missing, drift.mismatched, drift.companions_behind)
    statuses = sync_replicas(primary, replicas, expected)  # one ReplicaStatus per replica

:class:`ReplicaSyncer` offers both as the ``ReplicaSync`` port of
:class:`floe_ledger.domain.services.sync.SyncService`.

A replica is level when every expected tag names the expected digest (read from the
replica's own headers) and each digest's signatures, attestations and referrers
found in the primary are on the replica too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from floe_ledger.adapters.replication import (
    DEFAULT_TIMEOUT_S,
    ReplicaStatus,
    describe_error,
    replicate_tags,
    run_concurrently,
    timed_out,
)
from floe_ledger.adapters.replication.copy import (
    COMPANION_SUFFIXES,
    Companions,
    CopyStats,
    find_companions,
    merge_signatures,
)
from floe_ledger.domain.services.ports import Registry


@dataclass(frozen=True)
class ReplicaDrift:
    """How far one replica is behind what the ledger says should exist."""

    uri: str
    missing: tuple[str, ...] = ()
    mismatched: dict[str, str] = field(default_factory=dict)  # tag -> digest on the replica
    companions_behind: tuple[str, ...] = ()  # digests whose signatures/referrers are missing
    error: str | None = None

    @property
    def level(self) -> bool:
        return self.error is None and not (self.missing or self.mismatched
                                           or self.companions_behind)

    @property
    def ok(self) -> bool:
        """:attr:`level`, under the name the ``ReplicaReport`` port reads."""
        return self.level

    def as_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "level": self.level, "missing": list(self.missing),
                "mismatched": dict(self.mismatched),
                "companions_behind": list(self.companions_behind), "error": self.error}


class Steps(Protocol):
    """Where a sync reports its progress (a terminal's progress bar; by default nowhere):
    one step per digest read from the primary, per replica compared, per digest copied."""

    def update(self, completed: int, total: int | None = None) -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class NoSteps:
    def update(self, completed: int, total: int | None = None) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None


def sync_status(
    source: Registry, replicas: Sequence[Registry], expected: Mapping[str, str], *,
    check_companions: bool = True, max_workers: int = 8,
    timeout: float | None = DEFAULT_TIMEOUT_S, steps: Steps | None = None,
) -> list[ReplicaDrift]:
    """Per replica: which ``expected`` tags (tag → digest) are missing or point elsewhere,
    and (with ``check_companions``) which digests lack signatures or referrers."""
    steps = steps or NoSteps()
    steps.update(0, _reads(expected) * check_companions + len(replicas))
    companions = _companions_by_digest(source, expected, steps) if check_companions else {}
    return _drifts(replicas, expected, companions, max_workers, timeout, steps)


def _reads(expected: Mapping[str, str]) -> int:
    return len(set(expected.values()))


def _drifts(replicas: Sequence[Registry], expected: Mapping[str, str],
            companions: Mapping[str, Companions | None], max_workers: int,
            timeout: float | None, steps: Steps) -> list[ReplicaDrift]:
    def one(dest: Registry) -> Callable[[], ReplicaDrift]:
        def compare() -> ReplicaDrift:
            try:
                return _drift(dest, expected, companions)
            finally:
                steps.advance()
        return compare

    results = run_concurrently([one(r) for r in replicas], max_workers, timeout)
    return [res if res is not None else ReplicaDrift(r.uri, error=f"{r.uri} did not answer "
                                                     f"within {timeout} s")
            for r, res in zip(replicas, results, strict=True)]


def _companions_by_digest(source: Registry, expected: Mapping[str, str],
                          steps: Steps) -> dict[str, Companions | None]:
    found: dict[str, Companions | None] = {}
    for digest in dict.fromkeys(expected.values()):
        try:
            found[digest] = find_companions(source, digest)
        except Exception:  # the source lacks it: sync reports that per replica
            found[digest] = None
        steps.advance()
    return found


def _drift(dest: Registry, expected: Mapping[str, str],
           companions: Mapping[str, Companions | None]) -> ReplicaDrift:
    try:
        present = set(dest.list_tags())
        missing = tuple(t for t in expected if t not in present)
        mismatched: dict[str, str] = {}
        for tag in (t for t in expected if t in present):
            found = dest.resolve(tag)
            if found is None:
                missing += (tag,)
            elif found.digest != expected[tag]:
                mismatched[tag] = found.digest
        behind = {expected[t] for t in (*missing, *mismatched)}
        lagging = tuple(d for d, c in companions.items()
                        if d not in behind and c is not None and not companions_level(dest, c))
        return ReplicaDrift(dest.uri, missing, mismatched, lagging)
    except Exception as err:  # an unreachable replica is a status
        return ReplicaDrift(dest.uri, error=describe_error(err))


def sync_replicas(
    source: Registry, replicas: Sequence[Registry], expected: Mapping[str, str], *,
    max_workers: int = 8, timeout: float | None = DEFAULT_TIMEOUT_S,
    steps: Steps | None = None,
) -> list[ReplicaStatus]:
    """Bring every replica level with ``expected`` (tag → digest, from the ledger).

    Missing tags are written and tags pointing elsewhere re-pointed (the ledger is the
    truth; a replica is a mirror), copying artifacts and companions as needed.
    Returns one status per replica; ``tags`` lists the tags written.
    """
    steps = steps or NoSteps()
    compared = _reads(expected) + len(replicas)
    steps.update(0, compared)
    companions = _companions_by_digest(source, expected, steps)
    drifts = _drifts(replicas, expected, companions, max_workers, timeout, steps)
    steps.update(compared, compared + sum(len(_to_copy(d, expected)) for d in drifts))

    def one(dest: Registry, drift: ReplicaDrift) -> Callable[[], ReplicaStatus]:
        return lambda: _level(source, dest, drift, expected, companions, steps)

    tasks = [one(r, d) for r, d in zip(replicas, drifts, strict=True)]
    results = run_concurrently(tasks, max_workers, timeout)
    return [res if res is not None else timed_out(r.uri, timeout, ())
            for r, res in zip(replicas, results, strict=True)]


@dataclass(frozen=True)
class ReplicaSyncer:
    """The ``ReplicaSync`` port over the configured replica registries."""

    replicas: Sequence[Registry]
    steps: Steps = field(default_factory=NoSteps)

    @property
    def configured(self) -> bool:
        return bool(self.replicas)

    def check(self, primary: Registry, expected: Mapping[str, str]) -> list[ReplicaDrift]:
        return sync_status(primary, self.replicas, expected, steps=self.steps)

    def sync(self, primary: Registry, expected: Mapping[str, str]) -> list[ReplicaStatus]:
        return sync_replicas(primary, self.replicas, expected, steps=self.steps)


def _to_copy(drift: ReplicaDrift, expected: Mapping[str, str]) -> dict[str, list[str]]:
    """Digest -> the tags to write for it (none: only its companions are behind)."""
    if drift.error is not None:
        return {}
    by_digest: dict[str, list[str]] = {}
    for tag in (*drift.missing, *drift.mismatched):
        by_digest.setdefault(expected[tag], []).append(tag)
    for digest in drift.companions_behind:
        by_digest.setdefault(digest, [])
    return by_digest


def _level(source: Registry, dest: Registry, drift: ReplicaDrift, expected: Mapping[str, str],
           companions: Mapping[str, Companions | None], steps: Steps) -> ReplicaStatus:
    if drift.error is not None:
        return ReplicaStatus(dest.uri, "failed", drift.error)
    written: list[str] = []
    errors: list[str] = []
    stats = CopyStats()
    for digest, tags in _to_copy(drift, expected).items():
        status = replicate_tags(source, dest, digest, tags, companions=companions.get(digest))
        steps.advance()
        written += [t for t in status.stats.tags_written if t in tags]
        _add(stats, status.stats)
        if status.error:
            errors.append(status.error)
    if errors:
        return ReplicaStatus(dest.uri, "failed", "; ".join(errors), tuple(written), stats)
    return ReplicaStatus(dest.uri, "ok", None, tuple(written), stats)


def _add(total: CopyStats, part: CopyStats) -> None:
    for name in ("manifests_copied", "manifests_present", "blobs_uploaded", "blobs_mounted",
                 "blobs_present", "bytes_uploaded", "referrers_attached"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.tags_written += part.tags_written


def companions_level(dest: Registry, companions: Companions) -> bool:
    """Whether ``dest`` already has every referrer and companion tag in ``companions``."""
    if companions.referrers:
        have = {d.digest for d in dest.referrers(companions.subject)}
        if any(r.digest not in have for r in companions.referrers):
            return False
    for tag, digest in companions.tags.items():
        current = dest.resolve(tag)
        if current is None:
            return False
        if current.digest != digest and not (
                tag.endswith(COMPANION_SUFFIXES) and _superset(dest, current.digest, digest)):
            return False
    return True


def _superset(dest: Registry, current: str, wanted: str) -> bool:
    """Whether signature manifest ``current`` on ``dest`` holds every layer of ``wanted``
    (``wanted``'s manifest is read from ``dest`` too, if it was copied there)."""
    if dest.resolve(wanted) is None:
        return False
    return merge_signatures(dest.get_manifest(wanted), dest.get_manifest(current)) is None

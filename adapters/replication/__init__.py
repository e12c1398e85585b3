"""Disaster-recovery replicas: the same tags, same digest, in every registry (FR-028..030).

This package owns everything that talks to replica registries: writing tags to every
replica (here: ``ReplicaSet``, ``replicate_all``), copying an artifact and its companions
byte for byte (:mod:`.copy`), and bringing lagging replicas level (:mod:`.sync`).

    statuses = replicate_all(primary, replicas, digest, ["v1.2.3-prod", "latest-prod"])
    [s.as_dict() for s in statuses]   # [{"uri": ..., "status": "ok"|"failed", "error": ...}]
    sync_replicas(primary, replicas, {"v1.2.3-prod": digest, ...})   # `floe platform sync`

Each replica first gets whatever it lacks (blobs, child manifests, the manifest, the
signatures and referrers: :mod:`.copy`), then its tags with the exact
manifest bytes; each tag's digest is then read back from the replica's own headers
(FR-029). A failing replica never raises: it becomes ``status="failed"`` with an
error message (no credentials in it), so the primary promotion stands (FR-030).

Replicas run concurrently on daemon threads: a hung replica is reported failed at
``timeout`` and cannot hold the process open at exit.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from floe_ledger.adapters.replication.copy import (
    Companions,
    CopyStats,
    copy_artifact,
    copy_companions,
    find_companions,
)
from floe_ledger.domain.model.errors import FloeError, IntegrityError, TagExistsError
from floe_ledger.domain.model.oci import Manifest
from floe_ledger.domain.services.ports import Registry

DEFAULT_TIMEOUT_S = 120.0
T = TypeVar("T")


@dataclass(frozen=True)
class ReplicaStatus:
    """The outcome for one replica: ``ok`` or ``failed`` (with why)."""

    uri: str
    status: str
    error: str | None = None
    tags: tuple[str, ...] = ()
    stats: CopyStats = field(default_factory=CopyStats, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        """``{uri, status, error, tags}`` for the PromotionCompleted event and JSON output."""
        return {"uri": self.uri, "status": self.status, "error": self.error,
                "tags": list(self.tags)}


def describe_error(err: BaseException) -> str:
    """A one-line message for a replica failure, with credentials scrubbed."""
    text = err.message if isinstance(err, FloeError) else f"{type(err).__name__}: {err}"
    text = re.sub(r"(://)[^/@\s]+@", r"\1***@", text)
    return re.sub(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]+", r"\1 ***", text)


def replicate_tags(
    source: Registry, dest: Registry, digest: str, tags: Sequence[str], *,
    companions: Companions | None = None, manifest: Manifest | None = None,
    immutable: Collection[str] = (), same_host_repo: str | None = None,
) -> ReplicaStatus:
    """Make ``dest`` hold ``digest`` with its companions and ``tags``; never raises.

    Args:
        source: the primary (read only).
        dest: the replica.
        digest: the promoted manifest digest.
        tags: tags to point at it on the replica.
        companions: found once by the caller (:func:`find_companions`), else here.
        manifest: the manifest bytes, if the caller has them (saves a GET).
        immutable: tags that must not be re-pointed if the replica has them elsewhere.
        same_host_repo: repository to mount blobs from (default: auto-detected).

    Returns:
        ``ok`` once every tag was read back from ``dest`` as ``digest``; else ``failed``.
    """
    stats = CopyStats()
    try:
        copy_artifact(source, dest, digest, same_host_repo=same_host_repo, stats=stats)
        copy_companions(source, dest, digest, companions=companions,
                        same_host_repo=same_host_repo, stats=stats)
        data = manifest if manifest is not None else source.get_manifest(digest)
        for tag in tags:
            current = dest.resolve(tag)
            if current is not None and current.digest == digest:
                continue
            if current is not None and tag in immutable:
                raise TagExistsError(f"{tag} on {dest.uri} points at {current.digest}, "
                                     f"not {digest}",
                                     hint="immutable tags are never re-pointed; inspect the "
                                     "replica")
            dest.put_manifest(tag, data)
            stats.tags_written.append(tag)
        for tag in tags:  # FR-029: the replica's own headers must name the digest
            found = dest.resolve(tag)
            if found is None or found.digest != digest:
                raise IntegrityError(
                    f"{tag} on {dest.uri} reads back as "
                    f"{found.digest if found else 'missing'}, not {digest}",
                    hint="another writer changed the replica; run floe platform sync")
    except Exception as err:  # a replica must never fail the promotion
        return ReplicaStatus(dest.uri, "failed", describe_error(err), tuple(tags), stats)
    return ReplicaStatus(dest.uri, "ok", None, tuple(tags), stats)


def replicate_all(
    source: Registry, replicas: Sequence[Registry], digest: str, tags: Sequence[str], *,
    max_workers: int = 8, timeout: float | None = DEFAULT_TIMEOUT_S,
    manifest: Manifest | None = None, immutable: Collection[str] = (),
) -> list[ReplicaStatus]:
    """Replicate ``digest`` and ``tags`` to every replica concurrently; one status each.

    The source's companions are read once. A replica still working after
    ``timeout`` seconds is reported failed (its thread is abandoned, not awaited).
    """
    if not replicas:
        return []
    try:
        companions = find_companions(source, digest)
        data = manifest if manifest is not None else source.get_manifest(digest)
    except Exception as err:  # reported per replica
        why = f"reading {digest} from {source.uri}: {describe_error(err)}"
        return [ReplicaStatus(r.uri, "failed", why, tuple(tags)) for r in replicas]

    def one(dest: Registry) -> Callable[[], ReplicaStatus]:
        return lambda: replicate_tags(source, dest, digest, tags, companions=companions,
                                      manifest=data, immutable=immutable)

    results = run_concurrently([one(r) for r in replicas], max_workers, timeout)
    return [res if res is not None else timed_out(r.uri, timeout, tags)
            for r, res in zip(replicas, results, strict=True)]


def timed_out(uri: str, timeout: float | None, tags: Sequence[str]) -> ReplicaStatus:
    """The status of a replica that did not finish within ``timeout`` seconds."""
    return ReplicaStatus(uri, "failed", f"{uri} did not finish within {timeout} s",
                         tuple(tags))


def run_concurrently(tasks: Sequence[Callable[[], T]], max_workers: int,
                     timeout: float | None) -> list[T | None]:
    """Run ``tasks`` on up to ``max_workers`` daemon threads; results in task order,
    None for a task not finished within ``timeout`` seconds. Tasks must not raise."""
    results: list[T | None] = [None] * len(tasks)
    pending = list(enumerate(tasks))
    lock = threading.Lock()
    done = threading.Semaphore(0)

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                index, task = pending.pop(0)
            try:
                results[index] = task()
            finally:
                done.release()

    for n in range(max(1, min(max_workers, len(tasks)))):
        threading.Thread(target=worker, name=f"floe-replica-{n}", daemon=True).start()
    deadline = None if timeout is None else time.monotonic() + timeout
    for _ in tasks:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not done.acquire(timeout=left):
            break
    with lock:
        pending.clear()  # tasks not started yet will not start
        return list(results)


class PendingReplication:
    """Replication running in the background; :meth:`wait` gives the statuses."""

    def __init__(self, run: Callable[[], list[ReplicaStatus]], uris: Sequence[str],
                 timeout: float | None) -> None:
        self._uris = list(uris)
        self._timeout = timeout
        self._box: list[list[ReplicaStatus]] = []
        self._thread = threading.Thread(target=lambda: self._box.append(run()),
                                        name="floe-replicas", daemon=True)
        self._thread.start()

    def wait(self) -> list[dict[str, Any]]:
        """One ``{uri, status, error, tags}`` per replica, once every replica is done."""
        self._thread.join(None if self._timeout is None else self._timeout + 5)
        if not self._box:
            return [ReplicaStatus(u, "failed", "replication did not finish").as_dict()
                    for u in self._uris]
        return [s.as_dict() for s in self._box[0]]


class ReplicaSet:
    """The replicas of one primary: the promotion flow's replication port.

    Args:
        replicas: one Registry per ``artifacts.replicas`` entry (same repository path
            or another; each with its own credentials).
        max_workers: replicas written at once.
        timeout: seconds after which a replica still working is reported failed.
    """

    def __init__(self, replicas: Sequence[Registry], *, max_workers: int = 8,
                 timeout: float | None = DEFAULT_TIMEOUT_S) -> None:
        self.replicas = list(replicas)
        self.max_workers = max_workers
        self.timeout = timeout

    def start(self, registry: Registry, digest: str, tags: Sequence[str], *,
              manifest: Manifest | None = None,
              immutable: Collection[str] = ()) -> PendingReplication:
        """Begin :func:`replicate_all` from ``registry`` (the primary) in the background."""
        replicas, tag_list = list(self.replicas), list(tags)

        def run() -> list[ReplicaStatus]:
            return replicate_all(registry, replicas, digest, tag_list,
                                 max_workers=self.max_workers, timeout=self.timeout,
                                 manifest=manifest, immutable=immutable)

        return PendingReplication(run, [r.uri for r in replicas], self.timeout)

    def push_companions(self, registry: Registry, digest: str,
                        statuses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Copy companions written after the tags (the promotion record) to the replicas
        whose status is ok; a failure turns that replica's status to failed."""
        ok = {str(s.get("uri")) for s in statuses if s.get("status") == "ok"}
        targets = [r for r in self.replicas if r.uri in ok]
        problems: dict[str, str] = {}
        try:
            found = find_companions(registry, digest)
        except Exception as err:  # reported per replica
            problems = {r.uri: describe_error(err) for r in targets}
        else:
            def one(dest: Registry) -> Callable[[], str]:
                return lambda: _companions_error(registry, dest, digest, found)

            done = run_concurrently([one(r) for r in targets], self.max_workers, self.timeout)
            for dest, res in zip(targets, done, strict=True):
                if res is None or res:
                    problems[dest.uri] = res or f"no answer within {self.timeout} s"
        out = []
        for status in statuses:
            entry = dict(status)
            if entry.get("uri") in problems:
                entry.update(status="failed", error="tags written, but signatures/records "
                             f"not copied: {problems[str(entry['uri'])]}")
            out.append(entry)
        return out

    def close(self) -> None:
        """Close every replica's connection."""
        for registry in self.replicas:
            registry.close()


def _companions_error(source: Registry, dest: Registry, digest: str,
                      found: Companions) -> str:
    """'' when the companions were copied, else the error message."""
    try:
        copy_companions(source, dest, digest, companions=found)
    except Exception as err:  # reported as the replica's status
        return describe_error(err)
    return ""

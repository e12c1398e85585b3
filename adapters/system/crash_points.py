"""Crash points: a test hook that kills floe (SIGKILL) right after a chosen durable step.

For tests only (docs/crash-points.md). Two environment variables switch it on:

    FLOE_TEST_CRASH_LOG=steps.txt floe platform promote v1 --from dev --to staging
    # steps.txt: ledger:VersionObserved,PromotionRequested / registry:PUT v1-staging / ...
    FLOE_TEST_CRASH_AFTER=3 floe platform promote v1 --from dev --to staging   # dies -9

A *durable step* is a write another process can see once it returns: a save of events to
the ledger (one commit), a manifest PUT to a registry (a tag, a manifest by digest, a
referrers index, an environment's ``floe-<env>-index``), a tag deleted (``floe gc``) and a
referrer attached to its subject; on the primary and on each
replica. Blob uploads are not steps: a blob is content-addressed and invisible until a
manifest names it, so a crash after one is a crash before that manifest. The views and the
verdict cache are not steps either: both are derived and rebuilt on demand.

The composition root (``cli/app.py``) asks :func:`crash_points` once; with neither
variable set it gets None and installs nothing, so a normal run pays nothing for this.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from floe_ledger.domain.model.blobs import BlobOpener, BlobStream
from floe_ledger.domain.model.errors import ConfigError

if TYPE_CHECKING:
    from floe_ledger.domain.model.artifact import Artifact
    from floe_ledger.domain.model.oci import Descriptor, Manifest
    from floe_ledger.domain.services.ports import LedgerStore, Registry

AFTER_VAR = "FLOE_TEST_CRASH_AFTER"
LOG_VAR = "FLOE_TEST_CRASH_LOG"


def crash_points(env: Mapping[str, str]) -> CrashPoints | None:
    """The crash points the environment asks for, or None (the normal case)."""
    after, log = env.get(AFTER_VAR, "").strip(), env.get(LOG_VAR, "").strip()
    if not after and not log:
        return None
    if after and not (after.isdigit() and int(after) > 0):
        raise ConfigError(f"{AFTER_VAR}={after!r} is not a positive step number",
                          hint="a test hook: FLOE_TEST_CRASH_AFTER=N kills floe after its "
                          "Nth durable step (docs/crash-points.md); unset it otherwise")
    return CrashPoints(int(after) if after else None, Path(log) if log else None)


@dataclass
class CrashPoints:
    """Counts durable steps; logs each, and SIGKILLs the process after the ``after``-th."""

    after: int | None
    log: Path | None
    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def passed(self, step: str) -> None:
        """A durable step completed (replicas call this from their own threads)."""
        with self._lock:
            self.count += 1
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as out:
                    out.write(f"{step}\n")
            if self.count == self.after:
                os.kill(os.getpid(), signal.SIGKILL)

    def ledger(self, store: LedgerStore) -> LedgerStore:
        return CrashingLedger(store, self)

    def registry(self, registry: Registry, label: str = "registry") -> Registry:
        return CrashingRegistry(registry, self, label)


@dataclass
class CrashingLedger:
    """The LedgerStore port, with a step after each save that wrote events."""

    inner: LedgerStore
    points: CrashPoints

    def load(self, repository: str, known: Artifact | None = None) -> Artifact | None:
        return self.inner.load(repository, known)

    def hold(self, repository: str) -> AbstractContextManager[bool]:
        return self.inner.hold(repository)

    def save(self, artifact: Artifact) -> int:
        kinds = ",".join(type(e).__name__ for e in artifact.pending_events)
        saved = self.inner.save(artifact)
        if saved:
            self.points.passed(f"ledger:{kinds}")
        return saved


class CrashingRegistry:
    """The Registry port, with a step after each manifest PUT and referrer attached."""

    def __init__(self, inner: Registry, points: CrashPoints, label: str) -> None:
        self.inner, self.points, self.label = inner, points, label

    @property
    def uri(self) -> str:
        return self.inner.uri

    def resolve(self, reference: str) -> Descriptor | None:
        return self.inner.resolve(reference)

    def get_manifest(self, reference: str) -> Manifest:
        return self.inner.get_manifest(reference)

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        digest = self.inner.put_manifest(reference, manifest)
        self.points.passed(f"{self.label}:PUT {step_reference(reference)}")
        return digest

    def list_tags(self) -> list[str]:
        return self.inner.list_tags()

    def delete_tag(self, tag: str) -> bool:
        gone = self.inner.delete_tag(tag)
        self.points.passed(f"{self.label}:DELETE {step_reference(tag)}")
        return gone

    def get_blob(self, digest: str) -> bytes:
        return self.inner.get_blob(digest)

    def copy_blob(self, digest: str, size: int, out: BinaryIO) -> None:
        self.inner.copy_blob(digest, size, out)

    def open_blob(self, digest: str, size: int) -> BlobStream:
        return self.inner.open_blob(digest, size)

    def put_blob_from(self, digest: str, size: int, opener: BlobOpener,
                      media_type: str = "application/octet-stream") -> str:
        return self.inner.put_blob_from(digest, size, opener, media_type)

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        return self.inner.put_blob(data, media_type)

    def has_blob(self, digest: str) -> bool:
        probe = getattr(self.inner, "has_blob", None)
        return bool(probe(digest)) if probe is not None else False

    def mount_blob(self, digest: str, from_repository: str) -> bool:
        mount = getattr(self.inner, "mount_blob", None)
        return bool(mount(digest, from_repository)) if mount is not None else False

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        return self.inner.referrers(digest, artifact_type)

    def attach_referrer(self, subject: str, manifest: Manifest, artifact_type: str) -> None:
        self.inner.attach_referrer(subject, manifest, artifact_type)
        kind = artifact_type.rsplit("/", 1)[-1].split(".")[-2] if "." in artifact_type else "?"
        self.points.passed(f"{self.label}:referrer {kind}")

    def authenticated_user(self) -> str | None:
        return self.inner.authenticated_user()

    def close(self) -> None:
        self.inner.close()


def step_reference(reference: str) -> str:
    """A reference as a step names it: the same in every run of the same command (digests
    and referrers indexes differ from run to run)."""
    if reference.startswith("sha256:"):
        return "<digest>"
    if reference.startswith("sha256-"):
        return "sha256-* (referrers index)"
    return reference

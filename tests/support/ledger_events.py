"""Write real events into a real SQLite ledger, through the Artifact aggregate.

    ledger = LedgerWriter(tmp_path / ".floe" / "ledger.sqlite", "oci://127.0.0.1:5999/acme/app")
    ledger.promote("v1.0.0", None, "dev")
    ledger.lock("prod", "incident 42")
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from floe_ledger.adapters.store.eventstore import EventStoreLedger
from floe_ledger.adapters.store.location import LedgerLocation
from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.errors import EnvironmentLockedError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import EnvironmentPath

DIGEST = "sha256:" + "ab" * 32


class LedgerWriter:
    """One repository's stream in a ledger file, written as the services would."""

    def __init__(self, path: Path | None, repository: str, *,
                 operator: str = "alice@example.com",
                 trace_id: str = "4bf92f3577b34da6a3ce929d0e0e4736",
                 store: EventStoreLedger | None = None) -> None:
        if store is None:
            assert path is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            store = EventStoreLedger(LedgerLocation("sqlite", path=path))
        self.store = store
        self.repository = repository
        self.actor = Actor(operator, trace_id)

    def _change(self, change: Callable[[Artifact], object]) -> None:
        art = self.store.load(self.repository) or Artifact.register(self.repository,
                                                                    actor=self.actor)
        change(art)
        self.store.save(art)

    def lock(self, env: str, reason: str) -> None:
        self._change(lambda a: a.lock(env, reason, self.actor))

    def unlock(self, env: str, reason: str) -> None:
        self._change(lambda a: a.unlock(env, reason, self.actor))

    def promote(self, version: str, source: str | None, target: str,
                digest: str = DIGEST) -> str:
        pid = str(uuid.uuid4())

        def run(a: Artifact) -> None:
            a.request_promotion(promotion_id=pid, version=version, digest=digest, source=source,
                                target=target, path=EnvironmentPath(), force=False,
                                actor=self.actor)
            for tag, mutable in ((f"{version}-{target}", False), (f"latest-{target}", True)):
                a.record_tag(pid, "127.0.0.1:5999", tag, digest, mutable=mutable,
                             already_present=False, actor=self.actor)
            a.complete_promotion(pid, registries=[{"uri": "127.0.0.1:5999", "status": "ok"}],
                                 actor=self.actor)

        self._change(run)
        return pid

    def reject(self, version: str, target: str, reason: str) -> str:
        pid = str(uuid.uuid4())
        self._change(lambda a: a.reject(EnvironmentLockedError(reason), promotion_id=pid,
                                        version=version, source=None, target=target,
                                        actor=self.actor))
        return pid

    def rollback(self, version: str, env: str, reason: str) -> str:
        rid = str(uuid.uuid4())
        self._change(lambda a: a.roll_back(
            rollback_id=rid, version=version, digest=a.check_rollback(version, env), env=env,
            rollback_tag=f"{version}-{env}-rollback-1",
            sequence=1, reason=reason, impact={"risk": "SAFE", "breaking_changes": []},
            registries=[], actor=self.actor))
        return rid

    def close(self) -> None:
        self.store.close()

"""Snapshots compared with the events they claim to sum up.

A snapshot is a cache: decisions load through one only when this machine's key sealed it
(``adapters/store/mapper.py``). The audit goes further and trusts no seal: it folds each
stream's events from the first and, at every version that has a snapshot row, compares the
row's state with the folded state. A row that differs was forged or edited (exit 14).
"""

from __future__ import annotations

from typing import Any, Protocol

from floe_ledger.domain.model.artifact import Artifact
from floe_ledger.domain.model.events import ArtifactEvent, TamperError
from floe_ledger.domain.model.snapshot import snapshot
from floe_ledger.projections.audit import ChainBreak


class SnapshotSource(Protocol):
    def snapshot_states(self, artifact_id: str) -> list[tuple[int, dict[str, Any]]]: ...
    def stream_events(self, artifact_id: str) -> Any: ...
    def snapshotted_streams(self) -> set[str]: ...


def check_snapshots(store: SnapshotSource, artifact_ids: list[str]) -> tuple[int, list[ChainBreak]]:
    """(snapshots compared, one break per snapshot that does not match its events).

    Only streams with snapshot rows are folded (one query names them; a ledger of many
    short streams has none)."""
    compared, breaks = 0, []
    snapshotted = store.snapshotted_streams()
    for aid in artifact_ids:
        if aid not in snapshotted:
            continue
        rows = dict(store.snapshot_states(aid))
        if not rows:
            continue
        artifact: Artifact | None = None
        try:
            for event in store.stream_events(aid):
                artifact = _fold(event, artifact)
                if artifact is not None and artifact.version in rows:
                    compared += 1
                    if snapshot(artifact) != rows.pop(artifact.version):
                        breaks.append(ChainBreak(
                            aid, artifact.version, "ArtifactSnapshot", "edited",
                            f"snapshot v{artifact.version} does not match the state its events "
                            "fold to: it was forged or edited (decisions never load it)",
                            repository=artifact.repository))
        except TamperError:
            continue  # the chain check reports the broken event itself
        for version in sorted(rows):
            breaks.append(ChainBreak(aid, version, "ArtifactSnapshot", "edited",
                                     f"snapshot v{version} is beyond the stream's last event"))
    return compared, breaks


def _fold(event: ArtifactEvent, artifact: Artifact | None) -> Artifact | None:
    folded: Artifact | None = event.mutate(artifact)
    return folded

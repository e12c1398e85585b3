"""The aggregate id of a repository, computable without loading the aggregate class."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5


def artifact_id(repository: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"floe-ledger:{repository}")

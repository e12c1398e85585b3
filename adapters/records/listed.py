"""The records an environment's ``floe-<env>-index`` lists: its lock state and the ledgers'
head anchors (``floe audit verify --registry`` reads both).

    env_records(registry, ["dev", "prod"])          # [RecordInfo(kind="lock", ...)]
    head_records(registry, ledger_id, ["dev"])     # this ledger's anchors, newest per env

Each is read from its own manifest: the index entry is not trusted (anyone who can push
can rewrite the index).
"""

from __future__ import annotations

from floe_ledger.adapters.records import KIND_OF_TYPE, RecordInfo, _object
from floe_ledger.adapters.records.annotations import LEDGER_ID
from floe_ledger.adapters.records.environment import read_env_index
from floe_ledger.adapters.registry._common import load_json
from floe_ledger.domain.services.ports import Registry


def env_records(registry: Registry, environments: list[str]) -> list[RecordInfo]:
    """The records each environment's ``floe-<env>-index`` index lists as its lock state
    (ledger-independent: how a lock on an environment that runs nothing is found)."""
    found = []
    for env in environments:
        index = read_env_index(registry, env)
        if index.lock is not None:
            found.append(_listed(registry, index.lock.digest, index.tag))
    return found


def head_records(registry: Registry, ledger_id: str,
                 environments: list[str]) -> list[RecordInfo]:
    """The head anchors of ledger ``ledger_id`` listed in the environments' indexes (its
    newest in each environment it acted in), read from their own manifests."""
    found = []
    for env in environments:
        index = read_env_index(registry, env)
        for anchor in index.anchors:
            if anchor.annotations.get(LEDGER_ID) == ledger_id:
                found.append(_listed(registry, anchor.digest, index.tag))
    return found


def _listed(registry: Registry, digest: str, tag: str) -> RecordInfo:
    """A record an index lists, as its own manifest says (the index entry is not trusted)."""
    manifest = registry.get_manifest(digest)
    what = f"record {digest}"
    doc = load_json(manifest.data, what)
    artifact_type = str(doc.get("artifactType", ""))
    subject = str(_object(doc, "subject", what).get("digest") or "")  # none: a lock, a head
    notes = {str(k): str(v) for k, v in _object(doc, "annotations", what).items()}
    return RecordInfo(manifest.digest, KIND_OF_TYPE.get(artifact_type, "unknown"), artifact_type,
                      notes, subject, tag)

"""``floe-<env>-index``: floe's one tag per environment, an image index of what has no subject.

    index = read_env_index(registry, "prod")      # one GET: EnvIndex(lock=..., anchors=[...])
    set_lock(registry, "prod", lock_descriptor)   # the newest lock or unlock record of prod
    add_anchor(registry, "prod", head_descriptor) # this ledger's newest head anchor there

Records are referrers of the digest they describe and need no tag. Two things have no digest
to hang from: the lock state of an environment that runs nothing, and the ledger head each
command anchors when it ends. Both are listed here, in one mutable tag per environment
(rewritten by each command that writes about it), so tag-watching tools see a fixed number
of floe tags, never one per operation or per ledger:

- at most one lock entry: the newest lock or unlock record of the environment;
- anchor entries: the newest head anchor of each ledger that acted there, at most
  :data:`MAX_ANCHORS` ledgers (the oldest dropped first).

Each entry is the record manifest's descriptor with its kind, ledger id and time as
annotations; whoever trusts an entry reads the manifest it names (the index is a mutable tag
anyone with push rights could rewrite: records are verified one by one). Registries have no
compare-and-swap on tags, so a rewrite is read back and retried like the referrers fallback
index; a concurrent writer may still drop an anchor, which only weakens that witness.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from floe_ledger.adapters.records.annotations import CREATED, KIND, LEDGER_ID, LOCK_ID
from floe_ledger.adapters.registry._common import (
    descriptor_from_json,
    descriptor_to_json,
    load_json,
)
from floe_ledger.domain.model.errors import ConcurrencyError, NotFoundError
from floe_ledger.domain.model.oci import OCI_INDEX, Descriptor, Manifest, sha256_digest, sorted_json
from floe_ledger.domain.model.values import env_index_tag
from floe_ledger.domain.services.ports import Registry

ENV_INDEX_TYPE = "application/vnd.floe.environment.v1+json"
ENVIRONMENT = "dev.floe.environment"
MAX_ANCHORS = 16
"""Ledgers whose newest head anchor an environment's index keeps."""
ATTEMPTS = 3
ENTRY_NOTES = (KIND, LEDGER_ID, CREATED, LOCK_ID)


@dataclass(frozen=True)
class EnvIndex:
    """An environment's index as read (empty if the tag is absent)."""

    tag: str
    descriptor: Descriptor | None = None
    lock: Descriptor | None = None
    anchors: list[Descriptor] = field(default_factory=list)


def entry(manifest: Manifest, artifact_type: str, annotations: dict[str, str]) -> Descriptor:
    """The index entry of a record manifest: its descriptor, kind, ledger id, time (and a
    lock record's id)."""
    notes = {k: annotations[k] for k in ENTRY_NOTES if annotations.get(k)}
    return Descriptor(manifest.media_type, manifest.digest, len(manifest.data), artifact_type,
                      notes)


def read_env_index(registry: Registry, env: str) -> EnvIndex:
    """The index of ``env`` (one request); an empty one if the tag is absent."""
    tag = env_index_tag(env)
    try:
        manifest = registry.get_manifest(tag)
    except NotFoundError:
        return EnvIndex(tag)
    entries = [descriptor_from_json(e) for e in _entries(_doc(manifest, tag))]
    lock = next((e for e in entries if e.annotations.get(KIND) == "lock"), None)
    anchors = [e for e in entries if e.annotations.get(KIND) == "head"]
    return EnvIndex(tag, manifest.descriptor, lock, anchors)


class Unread:
    """The index was not read yet."""


UNREAD = Unread()
Current = dict[str, Any] | None | Unread
"""An index document as just read (None: the tag is absent), or :data:`UNREAD`."""


def read_current(registry: Registry, env: str) -> dict[str, Any] | None:
    """The index document of ``env`` as it is now (None: the tag is absent); a writer given
    it starts from it instead of reading again."""
    return _read(registry, env_index_tag(env))


def set_lock(registry: Registry, env: str, lock: Descriptor, *,
             sleep: Callable[[float], None] = time.sleep, current: Current = UNREAD) -> None:
    """Make ``lock`` the environment's lock entry (the newest lock or unlock record)."""
    def change(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = [e for e in entries if _kind(e) != "lock"]
        return [descriptor_to_json(lock), *kept]
    _rewrite(registry, env, change, lock.digest, sleep, current)


def add_anchor(registry: Registry, env: str, anchor: Descriptor, *,
               sleep: Callable[[float], None] = time.sleep, current: Current = UNREAD) -> None:
    """Make ``anchor`` its ledger's head anchor in the index, keeping the newest
    :data:`MAX_ANCHORS` ledgers' anchors."""
    ledger = anchor.annotations.get(LEDGER_ID, "")

    def change(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        others = [e for e in entries if _kind(e) != "head"]
        heads = [e for e in entries if _kind(e) == "head" and _notes(e).get(LEDGER_ID) != ledger]
        heads.sort(key=lambda e: _notes(e).get(CREATED, ""), reverse=True)
        return [*others, descriptor_to_json(anchor), *heads[:MAX_ANCHORS - 1]]
    _rewrite(registry, env, change, anchor.digest, sleep, current)


def _rewrite(registry: Registry, env: str,
             change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], digest: str,
             sleep: Callable[[float], None], current: Current) -> None:
    """Read (unless ``current`` was just read), change, write, read back; again while
    another writer's version hid ours."""
    tag = env_index_tag(env)
    for attempt in range(ATTEMPTS):
        if isinstance(current, Unread) or attempt:
            current = _read(registry, tag)
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": ENV_INDEX_TYPE,
               "manifests": change(_entries(current)), "annotations": {ENVIRONMENT: env}}
        if doc == current:
            return
        data = sorted_json(doc)
        registry.put_manifest(tag, Manifest(sha256_digest(data), OCI_INDEX, data))
        if any(e.get("digest") == digest for e in _entries(_read(registry, tag))):
            return
        sleep(0.1 * (attempt + 1))
    raise ConcurrencyError(
        f"could not write {tag} in {registry.uri}: another client rewrote it each time",
        hint="run the command again (and serialise writes per repository)",
        details={"tag": tag, "digest": digest})


def _read(registry: Registry, tag: str) -> dict[str, Any] | None:
    try:
        return _doc(registry.get_manifest(tag), tag)
    except NotFoundError:
        return None


def _doc(manifest: Manifest, tag: str) -> dict[str, Any]:
    return load_json(manifest.data, f"environment index {tag}")


def _entries(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    entries = (doc or {}).get("manifests")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _notes(entry: dict[str, Any]) -> dict[str, Any]:
    notes = entry.get("annotations")
    return notes if isinstance(notes, dict) else {}


def _kind(entry: dict[str, Any]) -> str:
    return str(_notes(entry).get(KIND, ""))

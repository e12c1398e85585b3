"""The registry as an audit sink: signed checkpoints stored beside the artifacts (ARCH-03).

The registry already holds floe's records of every decision (OCI referrers written by the
one write path, ``RegistryWriter.publish_record``, in the same order as always: this sink
does not move or repeat them, so it takes no event batches). Turned on with
``artifacts.audit.registry: {}``, it also keeps each signed checkpoint
(``floe audit checkpoint``) as an OCI artifact tagged ``floe-checkpoint-<sha256 16 hex>``
in the artifact's repository. A registry lets tags be deleted: for write-once storage use
the S3 sink.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from floe_ledger.adapters.registry._common import TITLE
from floe_ledger.adapters.registry.artifacts import EMPTY_CONFIG, EMPTY_DESCRIPTOR
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.oci import (
    OCI_EMPTY,
    OCI_MANIFEST,
    Manifest,
    sha256_digest,
    sorted_json,
)
from floe_ledger.domain.services.audit_sinks import CHECKPOINT, ArchiveObject, SinkContext
from floe_ledger.domain.services.ports import Registry

CHECKPOINT_TYPE = "application/vnd.floe.checkpoint.v1+json"
TAG_PREFIX = "floe-checkpoint-"


class RegistrySink:
    """Signed checkpoints as tagged OCI artifacts in the primary registry."""

    name = "registry"

    def __init__(self, registry: Callable[[], Registry]) -> None:
        self._registry = registry

    def location(self) -> str:
        return self._registry().uri

    def accepts(self, kind: str) -> bool:
        return kind == CHECKPOINT

    def put(self, obj: ArchiveObject) -> bool:
        registry = self._registry()
        tag = f"{TAG_PREFIX}{obj.sha256[:16]}"
        if registry.resolve(tag) is not None:
            return False
        registry.put_blob(EMPTY_CONFIG, OCI_EMPTY)
        registry.put_blob(obj.body, CHECKPOINT_TYPE)
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": CHECKPOINT_TYPE,
               "config": EMPTY_DESCRIPTOR,
               "layers": [{"mediaType": CHECKPOINT_TYPE, "digest": sha256_digest(obj.body),
                           "size": len(obj.body),
                           "annotations": {TITLE: obj.key.rsplit("/", 1)[-1]}}]}
        data = sorted_json(doc)
        registry.put_manifest(tag, Manifest(sha256_digest(data), OCI_MANIFEST, data))
        return True


def make_sink(settings: Mapping[str, Any], context: SinkContext) -> RegistrySink:
    """The ``floe.audit_sinks`` entry point ``registry``."""
    if settings:
        raise ConfigError("artifacts.audit.registry takes no settings",
                          hint="write artifacts.audit.registry: {}")
    if context.registry is None:
        raise ConfigError("the registry audit sink needs the manifest's registry",
                          hint="run from the folder of manifest.yaml")
    return RegistrySink(context.registry)

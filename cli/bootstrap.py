"""The composition root: settings in, wired application services out.

Nothing connects at import time; every adapter is built on first use, and heavy
modules (httpx, eventsourcing, sigstore) are imported only by the commands that
need them. Tests pass their own ``env`` mapping instead of touching os.environ.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_ledger.adapters.registry.reference import RegistryLocation
from floe_ledger.adapters.store.location import LedgerLocation, ledger_location

if TYPE_CHECKING:
    from floe_ledger.adapters.store.eventstore import EventStoreLedger
    from floe_ledger.domain.artifact import Actor
    from floe_ledger.domain.config import ManifestConfig
    from floe_ledger.domain.operations import OperationsService
    from floe_ledger.domain.ports import Operator, Registry
    from floe_ledger.domain.promote import PromotionService


@dataclass
class Settings:
    """Everything read from the outside world at start-up."""

    manifest_path: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def from_options(cls, manifest: str | None, env: Mapping[str, str] | None = None) -> Settings:
        environ = dict(os.environ if env is None else env)
        path = Path(manifest or environ.get("FLOE_MANIFEST") or "manifest.yaml")
        return cls(manifest_path=path.expanduser().absolute(), env=environ)

    @property
    def base_dir(self) -> Path:
        return self.manifest_path.parent


class App:
    """Lazily wired adapters and services for one CLI invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._registries: list[Any] = []
        self._store: EventStoreLedger | None = None

    @cached_property
    def manifest(self) -> ManifestConfig:
        from floe_ledger.adapters.manifest import load_manifest

        return load_manifest(self.settings.manifest_path)

    @cached_property
    def location(self) -> RegistryLocation:
        return RegistryLocation.parse(self.manifest.artifacts.registry.uri,
                                      base_dir=self.settings.base_dir)

    @property
    def repository(self) -> str:
        return self.location.uri

    @cached_property
    def ledger_location(self) -> LedgerLocation:
        return ledger_location(self.settings.env.get("FLOE_LEDGER_URL"), self.settings.base_dir)

    @property
    def store(self) -> EventStoreLedger:
        if self._store is None:
            from floe_ledger.adapters.store.factory import open_store

            self._store = open_store(self.ledger_location, self.settings.env)
            self._store.auto_refresh = False  # folded once, when the command closes
        return self._store

    @cached_property
    def registry(self) -> Registry:
        from floe_ledger.adapters.registry.factory import RegistrySettings, open_registry

        cfg = self.manifest.artifacts.registry
        registry = open_registry(
            RegistrySettings(uri=cfg.uri, plain_http=cfg.plain_http,
                             ca_file=Path(cfg.ca_file) if cfg.ca_file else None),
            base_dir=self.settings.base_dir, env=self.settings.env,
        )
        self._registries.append(registry)
        return registry

    @cached_property
    def operator(self) -> Operator:
        from floe_ledger.adapters.identity import resolve_operator

        first = self.manifest.artifacts.promotion.path.first
        return resolve_operator(self.manifest.artifacts.identity, self.settings.env,
                                registry=lambda: self.registry, probe_tag=f"latest-{first}",
                                base_dir=self.settings.base_dir)

    @cached_property
    def trace_id(self) -> str:
        from floe_ledger.adapters.telemetry import current_trace_id

        return current_trace_id(self.settings.env)

    def actor(self) -> Actor:
        from floe_ledger.domain.artifact import Actor

        return Actor(self.operator.name, self.trace_id, self.operator)

    @property
    def docker_reference(self) -> str:
        """``host/repository`` as cosign's simple-signing payload names it."""
        loc = self.location
        return f"{loc.host}/{loc.repository}" if not loc.is_layout else str(loc.path)

    def signature_verifier(self, *, force: bool = False) -> Any:
        """The configured SignatureVerifier, or None when enforcement is off (and not forced).

        ``force`` builds one even with enforcement off (``floe artifact verify``)."""
        raw = dict(self.manifest.artifacts.registry.verification)
        if not force and raw.get("enforcement", "off") == "off":
            return None
        from floe_ledger.adapters.signing.cache import SqliteVerdictCache
        from floe_ledger.adapters.signing.verifier import SignatureVerifier
        from floe_ledger.domain.signature import parse_policy

        if force and raw.get("enforcement", "off") == "off":
            raw["enforcement"] = "enforce"
        policy = parse_policy(raw)
        return SignatureVerifier(policy, trust_root=self.settings.env.get(
            "FLOE_SIGSTORE_TRUST_ROOT", "production"), cache=SqliteVerdictCache(
            self._cache_path()), base_dir=self.settings.base_dir)

    def _cache_path(self) -> Path:
        loc = self.ledger_location
        if loc.kind == "sqlite" and loc.path is not None:
            loc.path.parent.mkdir(parents=True, exist_ok=True)
            return loc.path
        path = self.settings.base_dir / ".floe" / "signature-cache.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def promotion_service(self) -> PromotionService:
        from floe_ledger.adapters.process import LocalProcessProbe
        from floe_ledger.domain.hooks import NoSignatureCheck
        from floe_ledger.domain.promote import PromotionService

        verifier = self.signature_verifier()
        return PromotionService(
            store=self.store, registry=self.registry, repository=self.repository,
            config=self.manifest.artifacts.promotion, probe=LocalProcessProbe(),
            signatures=verifier if verifier is not None else NoSignatureCheck(),
            gates=self.gates(),
        )

    def gates(self) -> Any:
        """The configured gates, validated up front (a bad rule is exit 2, not a failed gate)."""
        from floe_ledger.adapters.gates.service import ConfiguredGates

        gates = ConfiguredGates(self.manifest.artifacts.promotion,
                                workdir=str(self.settings.base_dir),
                                base_env=dict(self.settings.env))
        gates.validate()
        return gates

    def operations_service(self) -> OperationsService:
        from floe_ledger.domain.operations import OperationsService

        return OperationsService(
            store=self.store, registry=self.registry, repository=self.repository,
            config=self.manifest.artifacts.promotion,
            dependents=list(self.manifest.artifacts.dependents),
        )

    def close(self) -> None:
        for registry in self._registries:
            registry.close()
        if self._store is not None:
            self._store.close()

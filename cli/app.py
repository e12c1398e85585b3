"""The composition root: settings in, wired application services out.

Nothing connects at import time; every adapter is built on first use, and heavy
modules (httpx, eventsourcing, sigstore) are imported only by the commands that
need them. Tests pass their own ``env`` mapping instead of touching os.environ.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from floe_ledger.adapters.registry.reference import RegistryLocation
from floe_ledger.adapters.store.location import LedgerLocation, ledger_location
from floe_ledger.adapters.system.files import private_file

if TYPE_CHECKING:
    from floe_ledger.adapters.gates.service import ConfiguredGates
    from floe_ledger.adapters.observability.tracing import Telemetry
    from floe_ledger.adapters.records import OciRecordWriter
    from floe_ledger.adapters.records.reader import OciRecordReader
    from floe_ledger.adapters.replication import ReplicaSet
    from floe_ledger.adapters.replication.sync import Steps
    from floe_ledger.adapters.signing.verifier import SignatureVerifier
    from floe_ledger.adapters.store.eventstore import EventStoreLedger
    from floe_ledger.adapters.system.clock import SystemClock
    from floe_ledger.adapters.system.crash_points import CrashPoints
    from floe_ledger.domain.model.config import ManifestConfig
    from floe_ledger.domain.model.gate_results import GateResult
    from floe_ledger.domain.model.identity import Actor, Operator
    from floe_ledger.domain.services.adopt import AdoptionService
    from floe_ledger.domain.services.gc import GcService
    from floe_ledger.domain.services.locks import LockService
    from floe_ledger.domain.services.ports import LedgerStore, Registry
    from floe_ledger.domain.services.promote import PromotionService
    from floe_ledger.domain.services.reconcile import ReconcileService
    from floe_ledger.domain.services.rollback import RollbackService
    from floe_ledger.domain.services.sync import SyncService


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
    """Lazily wired adapters and services for one CLI invocation.

    The CLI keeps it on the root click context (``ctx.obj``); see
    :func:`floe_ledger.cli.options.floe_command`.
    """

    def __init__(self, settings: Settings) -> None:
        from floe_ledger.adapters.observability.logs import prepare

        self.settings = settings
        self._registries: list[Registry] = []
        self._store: EventStoreLedger | None = None
        self._closed = False
        prepare(settings.env)  # loggers configure structlog (to stderr) on first use

    @cached_property
    def manifest(self) -> ManifestConfig:
        from floe_ledger.adapters.manifest.loader import load_manifest

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

    @property
    def ledger(self) -> LedgerStore:
        """The store the use cases save through (with crash points when a test asks)."""
        return self.crash.ledger(self.store) if self.crash else self.store

    @cached_property
    def crash(self) -> CrashPoints | None:
        """Test-only crash points (docs/crash-points.md): None unless FLOE_TEST_CRASH_* set."""
        from floe_ledger.adapters.system.crash_points import crash_points

        return crash_points(self.settings.env)

    @cached_property
    def registry(self) -> Registry:
        from floe_ledger.adapters.registry.factory import open_configured

        cfg = self.manifest.artifacts.registry
        registry = open_configured(cfg, insecure=cfg.insecure_registries,
                                   timeout_seconds=cfg.timeout_seconds,
                                   base_dir=self.settings.base_dir, env=self.settings.env)
        self._registries.append(registry)
        return self.crash.registry(registry) if self.crash else registry

    @cached_property
    def replicas(self) -> ReplicaSet:
        """The ``artifacts.replicas`` registries (per-host credentials from config.json)."""
        from floe_ledger.adapters.registry.factory import open_configured, replica_env
        from floe_ledger.adapters.replication import ReplicaSet

        env, registries = replica_env(self.settings.env), []
        primary = self.manifest.artifacts.registry
        for i, replica in enumerate(self.manifest.artifacts.replicas):
            registry = open_configured(
                replica, insecure=primary.insecure_registries,
                timeout_seconds=primary.timeout_seconds, base_dir=self.settings.base_dir,
                env=env, key=f"artifacts.replicas.{i}")
            self._registries.append(registry)
            registries.append(self.crash.registry(registry, f"replica{i}") if self.crash
                              else registry)
        return ReplicaSet(registries)

    @cached_property
    def operator(self) -> Operator:
        from floe_ledger.adapters.identity.operator import resolve_operator

        return resolve_operator(self.manifest.artifacts.identity, self.settings.env,
                                registry=lambda: self.registry, base_dir=self.settings.base_dir)

    @cached_property
    def telemetry(self) -> Telemetry:
        """OpenTelemetry by the standard OTEL_* variables; TRACEPARENT joins a CI trace."""
        from floe_ledger.adapters.observability.logs import set_trace_id
        from floe_ledger.adapters.observability.tracing import init_tracing

        telemetry = init_tracing(self.settings.env, trace_id=self.run_trace_id)
        set_trace_id(telemetry.trace_id)
        return telemetry

    @cached_property
    def run_trace_id(self) -> str:
        """The run's trace id without starting OpenTelemetry (read-only commands print it);
        the telemetry, if the command starts it later, uses the same id."""
        from floe_ledger.adapters.observability.logs import set_trace_id
        from floe_ledger.adapters.observability.tracing import current_trace_id

        trace_id = current_trace_id(self.settings.env)
        set_trace_id(trace_id)
        return trace_id

    @property
    def trace_id(self) -> str:
        return self.telemetry.trace_id

    def actor(self) -> Actor:
        from floe_ledger.domain.model.identity import Actor

        return Actor(self.operator.name, self.trace_id, self.operator)

    @property
    def docker_reference(self) -> str:
        """``host/repository`` as cosign's simple-signing payload names it."""
        loc = self.location
        return f"{loc.host}/{loc.repository}" if not loc.is_layout else str(loc.path)

    @overload
    def signature_verifier(self, *, force: Literal[True]) -> SignatureVerifier: ...

    @overload
    def signature_verifier(self, *, force: bool = False) -> SignatureVerifier | None: ...

    def signature_verifier(self, *, force: bool = False) -> SignatureVerifier | None:
        """The configured SignatureVerifier, or None when enforcement is off (and not forced).

        ``force`` builds one even with enforcement off (``floe artifact verify``)."""
        raw = dict(self.manifest.artifacts.registry.verification)
        if not force and raw.get("enforcement", "off") == "off":
            return None
        from floe_ledger.adapters.signing.cache import (
            SqliteVerdictCache,
            cache_key_path,
        )
        from floe_ledger.adapters.signing.verifier import SignatureVerifier
        from floe_ledger.adapters.system.secrets import load_or_create_key
        from floe_ledger.domain.model.signature import parse_policy

        if force and raw.get("enforcement", "off") == "off":
            raw["enforcement"] = "enforce"
        policy = parse_policy(raw)
        root = self.settings.env.get("FLOE_SIGSTORE_TRUST_ROOT")
        key = load_or_create_key(cache_key_path(self.settings.env))
        return SignatureVerifier(
            policy, trust_root=root or "production",
            cache=SqliteVerdictCache(self._cache_path(), key), base_dir=self.settings.base_dir,
            docker_reference=self.docker_reference,
            trust_root_from="FLOE_SIGSTORE_TRUST_ROOT" if root else None)

    def _cache_path(self) -> Path:
        loc = self.ledger_location
        if loc.kind == "sqlite" and loc.path is not None:
            return private_file(loc.path)
        return private_file(self.settings.base_dir / ".floe" / "signature-cache.sqlite")

    def promotion_service(self) -> PromotionService:
        from floe_ledger.adapters.identity.process import LocalProcessProbe
        from floe_ledger.domain.services.ports import NoSignatureCheck
        from floe_ledger.domain.services.promote import PromotionService

        verifier = self.signature_verifier()
        return PromotionService(
            store=self.ledger, registry=self.registry, repository=self.repository,
            config=self.manifest.artifacts.promotion, probe=LocalProcessProbe(),
            signatures=verifier if verifier is not None else NoSignatureCheck(),
            gates=self.gates(), tracer=self.telemetry, replicas=self.replicas,
            records=self.records, reader=self.record_reader, clock=self.clock,
        )

    @cached_property
    def record_reader(self) -> OciRecordReader:
        """Other ledgers' records, read back from the registry before deciding."""
        from floe_ledger.adapters.records.reader import OciRecordReader

        return OciRecordReader()

    @cached_property
    def records(self) -> OciRecordWriter:
        """Promotion, rollback and lock records as OCI 1.1 referrers (FR-023, FR-025a)."""
        from floe_ledger.adapters.records import OciRecordWriter

        return OciRecordWriter()

    #: Called with each gate's result as it finishes (progress on a terminal).
    on_gate: Callable[[GateResult], None] | None = None

    def gates(self) -> ConfiguredGates:
        """The configured gates, validated up front (a bad rule is exit 2, not a failed gate)."""
        from floe_ledger.adapters.gates.service import ConfiguredGates

        gates = ConfiguredGates(self.manifest.artifacts.promotion,
                                workdir=str(self.settings.base_dir),
                                base_env=dict(self.settings.env), tracer=self.telemetry,
                                on_result=self.on_gate)
        gates.validate()
        return gates

    @cached_property
    def clock(self) -> SystemClock:
        from floe_ledger.adapters.system.clock import SystemClock

        return SystemClock()

    def rollback_service(self) -> RollbackService:
        from floe_ledger.domain.services.rollback import RollbackService

        return RollbackService(
            store=self.ledger, registry=self.registry, repository=self.repository,
            config=self.manifest.artifacts.promotion, clock=self.clock,
            dependents=list(self.manifest.artifacts.dependents), tracer=self.telemetry,
            replicas=self.replicas, records=self.records, reader=self.record_reader,
        )

    def lock_service(self) -> LockService:
        from floe_ledger.domain.services.locks import LockService

        return LockService(
            store=self.ledger, registry=self.registry, repository=self.repository,
            config=self.manifest.artifacts.promotion, clock=self.clock, tracer=self.telemetry,
            records=self.records, reader=self.record_reader,
        )

    def adoption_service(self) -> AdoptionService:
        from floe_ledger.domain.services.adopt import AdoptionService

        return AdoptionService(
            store=self.ledger, registry=self.registry, repository=self.repository,
            config=self.manifest.artifacts.promotion, clock=self.clock, tracer=self.telemetry,
            records=self.records, reader=self.record_reader,
        )

    def gc_service(self) -> GcService:
        """Retention of environment tags (``floe gc``)."""
        from floe_ledger.domain.services.gc import GcService

        return GcService(
            store=self.store, registry=self.registry, repository=self.repository,
            config=self.manifest.artifacts.promotion, clock=self.clock, tracer=self.telemetry,
            records=self.records, reader=self.record_reader,
        )

    def reconcile_service(self) -> ReconcileService:
        from floe_ledger.domain.services.reconcile import ReconcileService

        return ReconcileService(store=self.ledger, registry=self.registry,
                                repository=self.repository, clock=self.clock,
                                reader=self.record_reader)

    def sync_service(self, steps: Steps | None = None) -> SyncService:
        """Replicas compared with, and levelled from, what the ledger says the primary holds;
        ``steps`` shows how far it got (a progress bar)."""
        from floe_ledger.adapters.replication.sync import NoSteps, ReplicaSyncer
        from floe_ledger.domain.services.sync import SyncService

        return SyncService(store=lambda: self.store, repository=self.repository,
                           registry=lambda: self.registry,
                           replicas=ReplicaSyncer(self.replicas.replicas, steps or NoSteps()))

    def close(self) -> None:
        """Flush the trace, close the registries and the store (folding the views once).

        Safe to call again: only the first call does anything.
        """
        if self._closed:
            return
        self._closed = True
        if "telemetry" in self.__dict__:
            self.telemetry.shutdown()
        for registry in self._registries:
            registry.close()
        if self._store is not None:
            self._store.close()

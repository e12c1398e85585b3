"""Adapters: registries, the event store, signatures, gates, identity, telemetry, webhooks."""

__all__: list[str] = []

"""Adapters: everything that talks to the outside world, one package per thing talked to.

registry/ (OCI registries), store/ (the ledger database and its views), signing/,
gates/, replication/ (replica registries), records/ (records in the registry),
webhooks/, audit/, observability/ (logs and traces), manifest/ (manifest.yaml) and
identity/ (operator and process). No loose modules here: a new adapter joins a package.
"""

__all__: list[str] = []

"""The pure domain model: the Artifact aggregate (``artifact.py`` decides, ``state.py``
folds events), its events, values, identities, OCI values, policies (gates, signatures,
authorization, scans, rollback impact), configuration and errors.

Nothing here does I/O, reads the clock or draws random numbers: the application services
in ``floe_ledger.domain.services`` bring those in through ports.
"""

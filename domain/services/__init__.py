"""Application services: one module per use case, over the ports in ``ports.py``.

- ``promote.py`` decides a promotion; ``promotion_run.py`` runs it (verify, gates, tags,
  record, completion); ``rollback.py``; ``locks.py``.
- ``unit_of_work.py``: :class:`ArtifactSession`, the one load / decide / save-with-retry loop.
- ``registry_writes.py``: :class:`RegistryWriter`, the one writer of tags (primary and
  replicas) and registry records.
- ``requests.py``: what each use case is asked and what it returns, typed.
"""

"""Write-once audit archives (ARCH-01..ARCH-08): copies of the ledger that nobody can edit.

This package owns the archive side: which objects the ledger becomes and their keys
(:mod:`.objects`), the durable queue of uploads in the ledger's database (:mod:`.outbox`),
finding the sinks through the ``floe.audit_sinks`` entry points (:mod:`.sinks`), uploading
after a command and by ``floe audit archive`` (:mod:`.drain`), the built-in sinks
(:mod:`.s3`, S3 with Object Lock; :mod:`.registry_sink`, checkpoints in the registry) and
proving the ledger against an archive (:mod:`.check`). Nothing is imported here.
"""

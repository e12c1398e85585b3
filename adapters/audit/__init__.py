"""The audit: reading the ledger's rows as stored and proving they were not altered.

This package owns ``floe audit``'s work below the CLI: the raw rows and their decoded
events (:mod:`.events`), exports for an auditor's own tools (:mod:`.export`), signed
checkpoints of the stream heads (:mod:`.checkpoint`), and the verify and checkpoint use
cases that combine them with the registry's records (:mod:`.verify`). Nothing is imported
here; each command imports the module it needs.
"""

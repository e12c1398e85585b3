"""Webhooks: telling other systems about ledger events, at least once.

This package owns the outbound side: which events become which payloads (:mod:`.payloads`),
the durable queue of deliveries in the ledger's database (:mod:`.outbox`), building and
signing each HTTP request (:mod:`.requests`), and sending them with retries after a command
(:mod:`.delivery`). Nothing is imported here, so naming the package costs nothing.
"""

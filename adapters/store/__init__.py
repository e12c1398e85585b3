"""The ledger's storage: events, the views folded from them, and the fast read path.

This package owns everything that touches the ledger database, on SQLite or PostgreSQL:
the event store behind the ``LedgerStore`` port (:mod:`.eventstore`, :mod:`.mapper`,
:mod:`.factory`), where the ledger lives (:mod:`.location`), the environment views
(:mod:`.views`), PostgreSQL specifics (:mod:`.postgres`) and the ``status`` readers that
need no event machinery (:mod:`.readers`). Nothing is imported here.
"""

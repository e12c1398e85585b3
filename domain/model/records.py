"""What a floe record in the registry says, once read and verified: the facts one ledger
shares with every other ledger of the same repository (promotions, rollbacks, locks,
adoptions), each naming the ledger that wrote it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from floe_ledger.domain.model.oci import Descriptor

RECORD_KINDS = ("promotion", "rollback", "lock", "adoption")


@dataclass(frozen=True)
class ObservedRecord:
    """A verified record. ``digest`` is the record manifest's; ``subject_digest`` the
    artifact's it describes (empty for a lock on an environment that runs nothing)."""

    digest: str
    kind: str
    ledger_id: str
    record_id: str
    subject_digest: str
    environment: str
    operator: str
    at: datetime
    version: str | None = None
    source_environment: str | None = None
    status: str | None = None  # lock records: locked | unlocked
    reason: str = ""
    sequence: int | None = None  # rollback records
    identified_by: str | None = None  # how the other ledger identified ``operator``


@dataclass(frozen=True)
class RejectedRecord:
    """A record that failed verification: reported, never folded."""

    digest: str
    reason: str


@dataclass
class RecordScan:
    """What one read of the registry's records found, and what it cost."""

    records: list[ObservedRecord] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    round_trips: int = 0
    #: Each tag the scan resolved and the digest it named (None: absent), so the command
    #: that reconciled need not ask the registry again.
    resolved: dict[str, Descriptor | None] = field(default_factory=dict)
    #: Each ``floe-<env>-index`` tag read and the lock record it names (this ledger's too), so a
    #: lock this ledger saved but never published shows.
    lock_records: dict[str, ObservedRecord] = field(default_factory=dict)

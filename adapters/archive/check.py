"""Reading an archive back to prove the ledger against it (``floe audit verify --archive``).

    comparison = check_archive(report, reader_for_url("s3://floe-audit/prod", cfg))

Every event batch under the archive's ``events/`` prefix is read; an object whose bytes do
not hash to the digest its key names is reported as altered (exit 14) before any event in it
is trusted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from floe_ledger.adapters.archive.objects import key_digest, read_events
from floe_ledger.adapters.observability.redact import scrub
from floe_ledger.domain.model.errors import IntegrityError, RegistryUnavailableError
from floe_ledger.domain.services.audit_sinks import EVENTS, ArchiveReader
from floe_ledger.projections.archive import ArchiveComparison, ArchivedEvent, compare_archive
from floe_ledger.projections.audit_types import ChainReport


def archived_events(reader: ArchiveReader, source: str) -> Iterator[ArchivedEvent]:
    """Every event in the archive's batches, in key (ledger) order."""
    for key in reader.keys(EVENTS):
        body = reader.get(key)
        if not hashlib.sha256(body).hexdigest().startswith(key_digest(key)):
            raise IntegrityError(f"the archived object {source}/{key} does not match the "
                                 "digest in its key: the archive was altered",
                                 hint="check who may bypass the bucket's Object Lock "
                                 "(governance mode)")
        try:
            items = list(read_events(body))
        except ValueError as err:
            raise IntegrityError(f"the archived object {source}/{key} is not an event batch: "
                                 f"{err}", hint="give the prefix floe archives to") from err
        for item in items:
            yield ArchivedEvent(str(item["artifact_id"]), int(item["version"]),
                                str(item["hash"]), int(item["position"]),
                                str(item.get("kind", "")))


def check_archive(report: ChainReport, reader: ArchiveReader, source: str
                  ) -> ArchiveComparison:
    """The ledger's verified chain compared with every archived event.

    Raises:
        RegistryUnavailableError: the archive cannot be read (exit 5).
        IntegrityError: an archived object was altered.
    """
    try:
        events = list(archived_events(reader, source))
    except (IntegrityError, RegistryUnavailableError):
        raise
    except Exception as exc:
        raise RegistryUnavailableError(
            f"cannot read the archive {source}: {type(exc).__name__}: {scrub(str(exc))[:200]}",
            hint="check the archive's endpoint and the AWS credentials in the standard "
            "chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...)") from exc
    return compare_archive(report, events, source)

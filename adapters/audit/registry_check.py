"""``floe audit verify --registry``: the registry compared with what the ledger says.

- Tags the ledger wrote that moved or vanished, and ``latest-<env>`` / rollback tags it never
  wrote (drift).
- Environment tags ``{version}-{env}`` that nothing floe recorded explains at the digest they
  name now: no promotion or adoption in this ledger, and no record of another ledger found
  in the registry (drift ``unexplained``), except in environments that trust such tags. An
  adopted tag is this ledger's like one it wrote: moved or deleted, it is drift.
- ``latest-<env>`` is accounted for by the newest promotion or rollback into env, this
  ledger's or another's (with a verified record).
- Every record found (referrers of the digests the ledger knows and of every environment
  tag, and the lock records the ``floe-<env>-index`` indexes list), checked like any record
  read before deciding: one whose manifest, layer and annotations disagree was edited and
  is reported. Records of this ledger anchor its chain (their ledger head must be in it,
  and their promotion must be in the ledger); records of other ledgers are listed as
  foreign, never as tampering.
- Tags ``floe gc`` deleted are not drift: this ledger's TagsCollected events say so, and
  another ledger's collection record (a referrer of the version it collected) vouches for
  the tags it names.
- The head anchors of this ledger in every ``floe-<env>-index`` index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from floe_ledger.adapters.records import RecordInfo, list_records
from floe_ledger.adapters.records.annotations import LEDGER_ID, P, R
from floe_ledger.adapters.records.listed import env_records, head_records
from floe_ledger.adapters.records.reader import InvalidRecord, check_record
from floe_ledger.domain.model.artifact_id import artifact_id
from floe_ledger.domain.model.config import PromotionConfig
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.services.ports import Registry
from floe_ledger.projections.audit import Anchor, ChainBreak
from floe_ledger.projections.audit_drift import (
    ExpectedTag,
    TagDrift,
    TagFold,
    compare_tags,
    unexplained_tags,
)


@dataclass
class RegistryFindings:
    drift: list[TagDrift] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    invalid_records: list[dict[str, str]] = field(default_factory=list)
    breaks: list[ChainBreak] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    heads: list[dict[str, Any]] = field(default_factory=list)  # anchors in floe-<env>-index
    incomplete: list[dict[str, str]] = field(default_factory=list)  # recorded, not completed
    warnings: list[str] = field(default_factory=list)


def check_registry(registry: Registry, repository: str, promotion: PromotionConfig,
                   tags: TagFold) -> RegistryFindings:
    found = RegistryFindings()
    environments = tuple(promotion.path.names)
    trusted = tuple(e for e in environments if promotion.trusts_unrecorded_tags(e))
    expected = tags.tags(registry.uri)
    live_tags = registry.list_tags()
    names = set(expected) | {t for t in live_tags if t.startswith("latest-") or "-rollback-" in t
                             or any(t.endswith(f"-{e}") for e in environments)}
    live = {t: (d.digest if (d := registry.resolve(t)) is not None else None)
            for t in sorted(names)}
    found.drift = compare_tags(expected, live, environments)
    records = _records(registry, tags.digests | {d for d in live.values() if d}, environments)
    vouched: set[tuple[str, str]] = set()  # (tag, digest) a verified record accounts for
    newest: dict[str, tuple[datetime, str]] = {}  # latest-<env> -> (time, digest), newest
    collected: set[tuple[str, str]] = set()  # (tag, digest) another ledger's gc deleted
    aid = str(artifact_id(repository))
    for rec in records.values():
        checked = _check(registry, rec, found)
        if checked is None:
            continue
        ledger = rec.annotations.get(LEDGER_ID, "")
        if ledger and ledger not in tags.ledger_ids:
            # Only other ledgers' records vouch for tags: this ledger's own tags must be
            # explained by its own events.
            vouched |= _vouches(checked, rec.subject)
            collected |= _collected(checked, rec.subject)
            _newest_latest(newest, checked, rec.subject)
            found.records.append({**rec.as_dict(), "origin": "foreign", "ledger_id": ledger})
            continue
        found.records.append({**rec.as_dict(), "origin": "this ledger", "ledger_id": ledger})
        head = rec.ledger_head
        if head is not None:
            found.anchors.append(Anchor(head[0], head[1], head[2],
                                        f"registry record {rec.tag or rec.digest[:19]}"))
        _check_promotion(found, rec.annotations, tags, aid, rec.tag or rec.digest)
        _check_rollback(found, rec.annotations, tags, aid, rec.tag or rec.digest)
    vouched |= _newer_than_ours(newest, expected)
    # A tag another ledger moved or wrote, with a verified record saying so, is not drift
    # here; but no ledger re-points an immutable tag this ledger wrote or adopted. A tag
    # another ledger's gc deleted, with a verified collection record, is not drift either.
    found.drift = [d for d in found.drift if ((d.tag, d.live or "") not in vouched
                   or (d.tag in expected and not expected[d.tag].mutable))
                   and not (d.status == "deleted" and (d.tag, d.expected or "") in collected)]
    explained = {tag for tag, digest in [*tags.explained.items(), *vouched]
                 if live.get(tag) == digest}
    reported = {d.tag for d in found.drift}  # a moved tag is drift once
    found.drift += unexplained_tags(live, explained | reported, environments, trusted)
    for ledger in sorted(tags.ledger_ids):  # the head each command anchored when it ended
        for anchor in head_records(registry, ledger, list(environments)):
            if anchor.ledger_head is None:
                continue
            stream, version, hash_ = anchor.ledger_head
            found.anchors.append(Anchor(stream, version, hash_, f"registry anchor {anchor.tag}"))
            found.heads.append({**anchor.as_dict(), "ledger_id": ledger})
    return found


def _records(registry: Registry, digests: set[str],
             environments: tuple[str, ...]) -> dict[str, RecordInfo]:
    records = {r.digest: r for r in env_records(registry, list(environments))}
    for digest in sorted(digests):
        for rec in list_records(registry, digest):
            records.setdefault(rec.digest, rec)
    return records


def _check(registry: Registry, rec: RecordInfo, found: RegistryFindings) -> dict[str, Any] | None:
    """The record's content, or None (and an entry in ``invalid_records``) if it was edited."""
    try:
        return check_record(registry, rec.digest, rec.subject or None).content
    except (InvalidRecord, FloeError) as err:
        found.invalid_records.append({"digest": rec.digest, "tag": rec.tag,
                                      "reason": str(err)})
        return None


def _vouches(content: dict[str, Any], digest: str) -> set[tuple[str, str]]:
    """The tags (with the digest) a promotion, rollback or adoption record accounts for."""
    kind, version = content.get("kind"), content.get("version")
    env = content.get("target_environment") if kind == "promotion" else content.get(
        "environment")
    if not (version and env and digest) or kind == "lock":
        return set()
    tags = {f"{version}-{env}"} if kind in ("promotion", "adoption") else set()
    if kind == "rollback" and content.get("rollback_tag"):
        tags.add(str(content["rollback_tag"]))
    return {(tag, digest) for tag in tags}


def _newer_than_ours(newest: dict[str, tuple[datetime, str]],
                     expected: dict[str, ExpectedTag]) -> set[tuple[str, str]]:
    """``latest-<env>`` as the newest foreign record put it, unless this ledger moved it
    later: then only this ledger's own write accounts for it."""
    return {(tag, digest) for tag, (at, digest) in newest.items()
            if (own := expected.get(tag)) is None or own.at is None or own.at < at}


def _collected(content: dict[str, Any], digest: str) -> set[tuple[str, str]]:
    """The tags (with the digest they named) a collection record says ``floe gc`` deleted."""
    if content.get("kind") != "collection" or not digest:
        return set()
    return {(str(tag), digest) for tag in content.get("tags") or []}


def _newest_latest(newest: dict[str, tuple[datetime, str]], content: dict[str, Any],
                   digest: str) -> None:
    """``latest-<env>`` is accounted for only by the newest promotion or rollback into env."""
    kind = content.get("kind")
    env = content.get("target_environment") if kind == "promotion" else content.get(
        "environment")
    try:
        at = datetime.fromisoformat(str(content.get("promoted_at") or content.get(
            "rolled_back_at")).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return
    if kind not in ("promotion", "rollback") or not env or not digest:
        return
    tag = f"latest-{env}"
    if tag not in newest or newest[tag][0] < at:
        newest[tag] = (at, digest)


def _check_promotion(found: RegistryFindings, notes: dict[str, str], tags: TagFold, aid: str,
                     where: str) -> None:
    pid = notes.get(P + "id")
    if not pid:
        return
    if pid not in tags.requested:
        found.breaks.append(ChainBreak(
            aid, 0, "PromotionRequested", "removed",
            f"registry record {where} names promotion {pid}, which the ledger does not have: "
            "its events were removed"))
    elif pid not in tags.completed:
        # The registry witnessed the promotion (its record is written after its tags) but the
        # ledger never completed it: interrupted, or its final events were deleted. Neither is
        # a verified ledger, so this fails closed until the promotion is resumed.
        found.incomplete.append({
            "kind": "promotion", "promotion_id": pid, "record": where,
            "version": notes.get(P + "version", ""),
            "source_environment": notes.get(P + "source-env", ""),
            "target_environment": notes.get(P + "target-env", "")})


def _check_rollback(found: RegistryFindings, notes: dict[str, str], tags: TagFold, aid: str,
                    where: str) -> None:
    """As a promotion: a rollback's record is written after its tags and before RolledBack.
    (A ledger older than RollbackRequested has RolledBack alone: complete.)"""
    rid = notes.get(R + "id")
    if not rid or rid in tags.rolled_back:
        return
    if rid not in tags.rollbacks_requested:
        found.breaks.append(ChainBreak(
            aid, 0, "RollbackRequested", "removed",
            f"registry record {where} names rollback {rid}, which the ledger does not have: "
            "its events were removed"))
        return
    found.incomplete.append({
        "kind": "rollback", "rollback_id": rid, "record": where,
        "version": notes.get(R + "version", ""), "environment": notes.get(R + "environment", "")})

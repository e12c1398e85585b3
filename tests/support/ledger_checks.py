"""Invariants of one ledger, and of the registry it shares, checked from the outside.

* :func:`check_views` — the read models ``status`` shows (the views in the ledger's
  database) are caught up and agree with the aggregate loaded through its hash chain (what
  runs where, locks, open promotions); ``audit verify`` compares them, and the history, with
  a fresh fold of the events.
* :class:`TagClaims` — which environment tags floe wrote, adopted or read (and from which
  ledger), so :meth:`TagClaims.wrong` says which tags are not what floe left there: what
  ``audit verify --registry`` must report, and all it may report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from floe_ledger.cli.app import App
from floe_ledger.domain.model.artifact_id import artifact_id
from support.ledger_world import ENVIRONMENTS, VERSIONS, SharedRegistry

_ENVS = "|".join(ENVIRONMENTS)
_VERSIONS = "|".join(re.escape(v) for v in VERSIONS)
ENV_TAG = re.compile(rf"^(?:{_VERSIONS})-(?:{_ENVS})$")
FLOE_TAG = re.compile(rf"^(?:latest-(?:{_ENVS})|(?:{_VERSIONS})-(?:{_ENVS})(?:-rollback-\d+)?)$")


def check_views(app: App) -> None:
    """(a) the views are caught up and say what the aggregate, loaded through its hash chain,
    says (that they equal a fresh replay of the events is ``audit verify``'s views check)."""
    store = app.store
    aid = artifact_id(app.repository)
    assert store.views.position() == store.max_position(), "views lag behind the events"
    statuses = store.views.statuses(aid, ENVIRONMENTS)
    artifact = store.load(app.repository)
    if artifact is None:
        assert all(s.version is None and not s.locked for s in statuses)
        return
    for status in statuses:
        env = status.environment
        live, lock = artifact.live.get(env), artifact.locks.get(env)
        shown = (status.version, status.digest, status.promoted_by, status.promoted_at,
                 status.via)
        assert shown == ((live.version, live.digest, live.by, live.at.isoformat(), live.via)
                         if live else (None,) * 5), f"status of {env} is not what runs there"
        assert (status.locked, status.lock_reason, status.locked_by, status.locked_at) == (
            (True, lock.reason, lock.by, lock.at.isoformat()) if lock
            else (False, None, None, None)), f"status of {env} shows another lock"
        opened = [p.version for p in artifact.promotions.values()
                  if p.target == env and p.state == "open"]
        assert status.open_promotion == (opened[-1] if opened else None)


@dataclass(frozen=True)
class Claim:
    digest: str
    ledger: str
    kind: str  # write (a PUT or TagWritten) | adopt (VersionAdopted) | observe (VersionObserved)


@dataclass
class TagClaims:
    """What floe wrote into the registry, and what was changed there by hand."""

    registry: SharedRegistry
    claims: dict[str, list[Claim]] = field(default_factory=dict)  # per tag, oldest first
    _seen: int = 0

    def note_puts(self) -> list[tuple[str, str, str | None]]:
        """Claim every environment tag floe PUT since last asked; returns those PUTs."""
        new = self.registry.puts[self._seen:]
        self._seen = len(self.registry.puts)
        for tag, digest, ledger in new:
            if FLOE_TAG.match(tag) and ledger is not None:
                self.claim([tag], digest, ledger)
        return [p for p in new if FLOE_TAG.match(p[0])]

    def claim(self, tags: list[str], digest: str, ledger: str, kind: str = "write") -> None:
        for tag in tags:
            self.claims.setdefault(tag, []).append(Claim(digest, ledger, kind))

    def observe(self, tag: str, digest: str, ledger: str) -> None:
        """``ledger`` read ``tag`` as ``digest`` and may have recorded so (VersionObserved)."""
        self.claim([tag], digest, ledger, "observe")

    def floe_tags(self) -> list[str]:
        return sorted(t for t in self.registry.tags if FLOE_TAG.match(t))

    def _broken(self, tag: str, kinds: tuple[str, ...]) -> list[Claim]:
        """The claims on ``tag`` the registry no longer honours: for ``latest-<env>`` the
        newest, for an immutable tag every one (floe never re-points it)."""
        claims = self.claims.get(tag, [])
        standing = claims[-1:] if tag.startswith("latest-") else claims
        got = self.registry.digest(tag)
        return [c for c in standing if c.kind in kinds and c.digest != got]

    def wrong(self, kinds: tuple[str, ...] = ("write", "adopt")) -> dict[str, str]:
        """Tags that are not what floe left there (moved, deleted), or that no floe wrote
        where floe does not trust bare tags (every environment but the first)."""
        out = {}
        for tag in sorted(set(self.floe_tags()) | set(self.claims)):
            got = self.registry.digest(tag)
            if broken := self._broken(tag, kinds):
                c = broken[0]
                out[tag] = f"{c.kind} by {c.ledger} as {c.digest[:15]}, now {got}"
            elif tag not in self.claims and got is not None and not (
                    ENV_TAG.match(tag) and tag.endswith(f"-{ENVIRONMENTS[0]}")):
                out[tag] = "pushed by hand"
        return out

    def must_report(self, ledger: str, wrong: dict[str, str]) -> set[str]:
        """The wrong tags ``ledger``'s audit must name: those it wrote, and those no floe
        wrote."""
        return {t for t in wrong if t not in self.claims
                or any(c.ledger == ledger for c in self._broken(t, ("write",)))}

    def check_reported(self, reported: dict[str, set[str]]) -> None:
        """(b) what each ledger's audit reported as drift (tags) is what it must report and
        no more, and the audits together report every tag that is not what floe left."""
        wrong = self.wrong()
        maybe = self.wrong(("write", "adopt", "observe"))
        for name, tags in reported.items():
            assert tags <= set(maybe), f"{name} reports drift nobody made: {tags} {maybe}"
            missed = self.must_report(name, wrong) - tags
            assert not missed, f"{name} does not report {missed}: {wrong}"
        if reported:
            missed = set(wrong) - set().union(*reported.values())
            assert not missed, f"no ledger reports {missed}: {wrong}"

"""What floe should answer, worked out from a small model of the shared world, not from
floe's code: which versions passed which environments (by any ledger), what runs where,
which environments are locked, and which tags someone changed by hand.

    model = Model(release={"v1.0.0": "sha256:…"})
    expect = model.promote("v1.0.0", None, "dev", force=False, break_glass=False)
    expect.allows(None)           # True: the promotion succeeds
    model.promoted("v1.0.0", "dev", digest)

Where hand-made changes make the answer depend on what one ledger happened to fold (a tag
moved or deleted behind floe's back), the model says so: :class:`Expect` then allows any of
the documented refusals or success, and the model follows what floe did.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from floe_ledger.domain.model.errors import (
    EnvironmentLockedError,
    FloeError,
    IntegrityError,
    InvalidTransitionError,
    NeverPromotedError,
    NotFoundError,
    TagExistsError,
    UnexplainedTagError,
)
from support.ledger_world import ENVIRONMENTS

FIRST = ENVIRONMENTS[0]  # the only environment whose bare tags floe trusts (by default)
#: What a tag changed by hand may lead floe to answer, besides success.
HAND_MADE = (IntegrityError, TagExistsError, UnexplainedTagError, NotFoundError,
             NeverPromotedError)


@dataclass(frozen=True)
class Expect:
    """The answers allowed: a refusal of one of ``errors``, or success when ``ok``."""

    errors: tuple[type[FloeError], ...] = ()
    ok: bool = False
    why: str = ""

    @classmethod
    def refused(cls, error: type[FloeError], why: str) -> Expect:
        return cls((error,), False, why)

    @classmethod
    def success(cls, why: str = "") -> Expect:
        return cls((), True, why)

    @classmethod
    def unsure(cls, why: str, *errors: type[FloeError]) -> Expect:
        return cls(tuple(dict.fromkeys((*errors, *HAND_MADE))), True, why)

    def either(self, other: Expect) -> Expect:
        return Expect(tuple(dict.fromkeys((*self.errors, *other.errors))),
                      self.ok or other.ok, f"{self.why} | {other.why}")

    def allows(self, error: FloeError | None) -> bool:
        return self.ok if error is None else type(error) in self.errors


@dataclass
class Model:
    release: dict[str, str]
    passed: dict[tuple[str, str], str] = field(default_factory=dict)  # (version, env) -> digest
    hand: dict[tuple[str, str], str] = field(default_factory=dict)  # env tags pushed by hand
    live: dict[str, tuple[str, str]] = field(default_factory=dict)  # env -> (version, digest)
    locks: set[str] = field(default_factory=set)
    rollbacks: dict[tuple[str, str], int] = field(default_factory=dict)
    dirty_versions: set[str] = field(default_factory=set)  # a tag of it moved by hand
    dirty_envs: set[str] = field(default_factory=set)  # its latest/rollback tag moved by hand

    # ---- what floe should answer ---------------------------------------------------------

    def promote(self, version: str, source: str | None, target: str, *, force: bool,
                break_glass: bool) -> Expect:
        if not _next(source, target):
            return Expect.refused(InvalidTransitionError, "not the next environment")
        if target in self.locks and not break_glass:
            return Expect.refused(EnvironmentLockedError, f"{target} is locked")
        if version in self.dirty_versions:
            return Expect.unsure(f"a tag of {version} was changed by hand")
        start = self._source(version, source)
        if (version, target) in self.passed:
            done = (Expect.success("already passed: --force completes, writing nothing")
                    if force else Expect.refused(TagExistsError, "already passed"))
            # A ledger that never saw the promotion learns of it only through the source's
            # digest: when the source tag is missing it may refuse for that first.
            return done if start.ok else done.either(start)
        if not start.ok:
            return start
        if (version, target) in self.hand and not force:
            return Expect.refused(TagExistsError, "the target tag was pushed by hand")
        return Expect.success("the next step")

    def _source(self, version: str, source: str | None) -> Expect:
        if source is None or (version, source) in self.passed:
            return Expect.success()
        if (version, source) in self.hand:
            if source == FIRST:
                return Expect.success(f"a bare tag counts in {FIRST}")
            return Expect.refused(UnexplainedTagError, "the source tag was pushed by hand")
        return Expect.refused(NotFoundError, f"{version} is not in {source}")

    def rollback(self, version: str, env: str, *, break_glass: bool) -> Expect:
        if env in self.locks and not break_glass:
            return Expect.refused(EnvironmentLockedError, f"{env} is locked")
        live = self.live.get(env)
        if version in self.dirty_versions or env in self.dirty_envs or (
                live is not None and live[0] in self.dirty_versions):
            return Expect.unsure(f"a tag of {version} or {env} was changed by hand")
        if (version, env) not in self.passed:
            if (version, env) not in self.hand:
                return Expect.refused(NeverPromotedError, f"{version} never ran in {env}")
            if env != FIRST:
                return Expect.refused(UnexplainedTagError, "the env tag was pushed by hand")
        return Expect.success("nothing to do" if live and live[0] == version else "roll back")

    def adopt(self, version: str, env: str, present: bool) -> Expect:
        if not present:
            return Expect.refused(NotFoundError, "no such tag")
        if version in self.dirty_versions:
            return Expect.unsure(f"a tag of {version} was changed by hand")
        if (version, env) in self.passed:
            return Expect.refused(TagExistsError, "already passed")
        return Expect.success("a tag pushed by hand")

    @staticmethod
    def lock(locked: bool, locking: bool) -> bool:
        """What lock (unlock) returns: whether it changed anything."""
        return locked != locking

    def next_rollback(self, version: str, env: str) -> int:
        return self.rollbacks.get((version, env), 0) + 1

    def check_status(self, env: str, version: str | None, digest: str | None,
                     locked: bool) -> None:
        """What a ledger says of ``env`` after folding the registry's records (``status``):
        its lock always; what runs there wherever no tag was changed by hand."""
        assert locked == (env in self.locks), f"{env} is shown {'un' * (not locked)}locked"
        live = self.live.get(env)
        if env in self.dirty_envs or (live and live[0] in self.dirty_versions):
            return
        assert (version, digest) == (live or (None, None)), f"{env} is shown running {version}"

    # ---- what happened -------------------------------------------------------------------

    def promoted(self, version: str, target: str, digest: str, *, wrote: bool) -> None:
        self.passed[(version, target)] = digest
        self.hand.pop((version, target), None)
        if wrote:
            self.live[target] = (version, digest)

    def rolled_back(self, version: str, env: str, digest: str, sequence: int) -> None:
        self.rollbacks[(version, env)] = sequence
        self.live[env] = (version, digest)

    def adopted(self, version: str, env: str, digest: str) -> None:
        self.passed[(version, env)] = digest
        self.hand.pop((version, env), None)

    def set_lock(self, env: str, locked: bool) -> None:
        (self.locks.add if locked else self.locks.discard)(env)

    def tag_changed(self, tag: str) -> None:
        """``tag`` moved or deleted by hand: ``{version}-{env}`` taints the version,
        ``latest-{env}`` and ``{version}-{env}-rollback-{N}`` the environment."""
        if tag.startswith("latest-"):
            self.dirty_envs.add(tag.removeprefix("latest-"))
        elif "-rollback-" in tag:
            self.dirty_envs.add(tag.split("-rollback-")[0].rsplit("-", 1)[1])
        else:
            self.by_hand(*tag.rsplit("-", 1))

    def by_hand(self, version: str, env: str, *, created: str | None = None) -> None:
        """``{version}-{env}`` changed by hand. One created at the version's own release
        digest, where the version never passed, is a clean hand-pushed tag; anything else
        taints the version."""
        key = (version, env)
        if created is not None and created == self.release[version] and key not in self.passed:
            self.hand[key] = created
            return
        self.hand.pop(key, None)
        self.dirty_versions.add(version)


def _next(source: str | None, target: str) -> bool:
    if source is None:
        return target == FIRST
    return ENVIRONMENTS.index(target) == ENVIRONMENTS.index(source) + 1

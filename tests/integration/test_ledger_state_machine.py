"""Random sequences of floe commands on two ledgers sharing one registry, with tags changed by
hand in between; after every step the ledgers, their views and the registry must agree.

What is real: both ledgers are real SQLite ledgers (eventsourcing, hash chain, snapshots,
views) in their own checkouts, opened by the CLI's composition root (``cli/app.App``, one
per command, as ``floe`` does) and driven through the same services the commands call
(promote, rollback, lock/unlock, ``ledger adopt``, ``ledger rebuild``, ``status``'s
reconciliation); records, record reading and ``audit verify --registry`` are the real
adapters. What is fake: the registry is the in-memory one (``support/memory_registry``,
which passes the same Registry contract suite as the real adapters), and the ledgers live
on tmpfs where there is one, so hundreds of sequences run in a minute.

After each step, for every ledger that exists:

(a) the status and history views equal a fresh replay of the events, and what the
    aggregate (loaded through its hash chain) says runs where and is locked;
(b) ``audit verify --registry`` reports drift only on tags that are not what some ledger
    wrote, adopted or read there (moved or deleted by hand since, or pushed by hand), and
    reports every tag that is not what floe wrote or adopted: each ledger those it wrote and
    those no floe wrote, the ledgers together every one;
(c) the hash chain, the registry anchors, the snapshots and the views verify.

Each command's answer is compared with :class:`support.ledger_model.Model`: a promotion that
skips an environment is exit 9, into a locked one exit 13, a rollback to a version that
never ran there exit 11, an unexplained tag exit 9, and so on.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from floe_ledger.cli.app import App
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.model.identity import Actor
from floe_ledger.domain.model.values import rollback_tag
from floe_ledger.domain.services.requests import AdoptRequest, PromoteRequest, RollbackRequest
from support.ledger_checks import TagClaims, check_views
from support.ledger_model import Expect, Model
from support.ledger_world import ENVIRONMENTS, VERSIONS, LedgerWorld, verify

pytestmark = pytest.mark.requirement("NFR-004", "FR-001", "FR-013", "FR-023", "FR-035",
                                     "EDGE-08", "TAG-06", "SC-003")

LEDGER = st.sampled_from(("a", "b"))
VERSION = st.sampled_from(VERSIONS)
ENV = st.sampled_from(ENVIRONMENTS)
REFUSAL = {"promote": "PromotionRejected", "rollback": "RollbackRejected",
           "adopt": "PromotionRejected"}
#: SQLite's fsyncs dominate on a disk: the ledgers live in memory-backed /dev/shm where there
#: is one (still real SQLite files), else in the usual temporary directory.
SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
OUTCOMES: Counter[str] = Counter()  # what the runs exercised, printed and checked at the end


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory(prefix="floe-sm-", dir=SCRATCH)
        self.world = LedgerWorld(Path(self._tmp.name))
        self.model = Model(release=dict(self.world.release))
        self.tags = TagClaims(self.world.registry)
        self._audited: dict[str, tuple[tuple[int, int], set[str]]] = {}

    def teardown(self) -> None:
        self.world.close()
        self._tmp.cleanup()

    # ---- running one command ---------------------------------------------------------------

    def _run(self, name: str, command: str, call: Callable[[App, Actor], Any],
             expect: Expect | None = None) -> Any:
        """Run ``call`` as one floe command of ledger ``name``; returns its result, or None
        when it was refused (the refusal must be what ``expect`` allows, recorded, and have
        written no tag)."""
        with self.world.ledgers[name].command() as app:
            try:
                result, error = call(app, self.world.actor(name)), None
            except FloeError as err:
                result, error = None, err
                position = app.store.max_position()
                last = type(app.store.notifications(position, 1)[0][1]).__name__
        puts = self.tags.note_puts()
        OUTCOMES[f"{command}: {error.code if error else 'ok'}"] += 1
        if expect is None:
            assert error is None, f"{command} by {name} failed: {error!r}"
            return result
        assert expect.allows(error), (f"{command} by {name}: expected {expect}, got "
                                      f"{error!r}")
        if error is not None:
            assert not puts, f"{command} by {name} was refused ({error.code}) but wrote {puts}"
            assert last == REFUSAL[command], f"refusal recorded as {last}"
        return result

    def _ask(self, name: str, request: PromoteRequest | RollbackRequest,
             expect: Expect) -> Any:
        """Run a promotion or a rollback as ledger ``name``, as ``_run`` runs any command."""
        if isinstance(request, PromoteRequest):
            return self._run(name, "promote", lambda app, actor: app.promotion_service().promote(
                request, actor), expect)
        return self._run(name, "rollback", lambda app, actor: app.rollback_service().rollback(
            request, actor), expect)

    def _wrote(self, result: Any, tags: list[str]) -> None:
        """The command says it wrote ``tags``, in this order, and each names its digest."""
        assert result.tags == tags
        for tag in result.tags:
            assert self.world.registry.digest(tag) == result.digest

    # ---- floe commands ------------------------------------------------------------------------

    @initialize(first=st.lists(st.tuples(LEDGER, VERSION, st.integers(1, 3)), max_size=3))
    def start(self, first: list[tuple[str, str, int]]) -> None:
        """Start from nothing, or with versions already promoted part of the way."""
        for name, version, steps in first:
            for step in range(steps):
                self._promote(name, version, ENVIRONMENTS[step - 1] if step else None,
                              ENVIRONMENTS[step], force=False, glass=False)

    @rule(data=st.data())  # one argument: Hypothesis tries such rules first
    def promote(self, data: st.DataObject) -> None:
        """The version's next step along the path, any step, or anywhere at all."""
        name, version = data.draw(LEDGER, label="ledger"), data.draw(VERSION, label="version")
        how = data.draw(st.sampled_from(("next", "step", "anywhere")), label="how")
        if how == "anywhere":
            source = data.draw(st.none() | ENV, label="from")
            self._promote(name, version, source, data.draw(ENV, label="to"), force=False,
                          glass=False)
            return
        passed = [i for i, e in enumerate(ENVIRONMENTS)
                  if (version, e) in self.model.passed or (version, e) in self.model.hand]
        step = (min(max(passed, default=-1) + 1, len(ENVIRONMENTS) - 1) if how == "next"
                else data.draw(st.integers(0, len(ENVIRONMENTS) - 1), label="step"))
        self._promote(name, version, ENVIRONMENTS[step - 1] if step else None,
                      ENVIRONMENTS[step], force=data.draw(st.booleans(), label="force"),
                      glass=data.draw(st.booleans(), label="break-glass"))

    def _promote(self, name: str, version: str, source: str | None, target: str, *,
                 force: bool, glass: bool) -> None:
        expect = self.model.promote(version, source, target, force=force, break_glass=glass)
        result = self._ask(name, PromoteRequest(version, source, target, force=force,
                                                break_glass=_glass(glass)), expect)
        if result is None:
            return
        if not result.nothing_written:
            self.tags.claim(result.tags, result.digest, name)
            if source is not None:
                self.tags.observe(f"{version}-{source}", result.digest, name)
        if not expect.errors:  # the model knew the answer: check it in full
            already = (version, target) in self.model.passed
            assert result.digest == self.model.release[version]
            assert result.nothing_written == already
            if not already:
                self._wrote(result, [f"{version}-{target}", f"latest-{target}"])
        self.model.promoted(version, target, result.digest, wrote=not result.nothing_written)

    @rule(data=st.data())
    def rollback(self, data: st.DataObject) -> None:
        """Mostly to a version that ran (or was pushed) there and is not running there now,
        sometimes to any."""
        name, glass = data.draw(LEDGER, label="ledger"), data.draw(st.booleans(), label="glass")
        ran = sorted({*self.model.passed, *self.model.hand})
        ran = [(v, e) for v, e in ran if self.model.live.get(e, ("",))[0] != v] or ran
        version, env = _pick(data, ran, st.tuples(VERSION, ENV), "version, env")
        expect = self.model.rollback(version, env, break_glass=glass)
        sequence, live = self.model.next_rollback(version, env), self.model.live.get(env)
        result = self._ask(name, RollbackRequest(version, env, reason="bad deploy",
                                                 break_glass=_glass(glass),
                                                 yes=True), expect)  # as with --yes
        if result is None:
            return
        if not expect.errors:
            assert result.nothing_to_do == (live is not None and live[0] == version)
            if not result.nothing_to_do:
                assert result.rollback_tag == rollback_tag(version, env, sequence)
                self._wrote(result, [result.rollback_tag, f"latest-{env}"])
        if result.nothing_to_do:
            return
        OUTCOMES["rollback: rolled back"] += 1
        self.tags.claim(result.tags, result.digest, name)
        self.tags.observe(f"{version}-{env}", result.digest, name)
        assert result.rollback_tag is not None
        self.model.rolled_back(version, env, result.digest,
                               int(result.rollback_tag.rsplit("-", 1)[1]))

    @rule(name=LEDGER, env=ENV, locking=st.booleans())
    def lock(self, name: str, env: str, locking: bool) -> None:
        want = self.model.lock(env in self.model.locks, locking)

        def change(app: App, actor: Actor) -> bool:
            service = app.lock_service()
            return (service.lock if locking else service.unlock)(env, "incident 42", actor)
        changed = self._run(name, "lock" if locking else "unlock", change)
        assert changed == want, f"{'lock' if locking else 'unlock'} {env} by {name}"
        self.model.set_lock(env, locking)

    @rule(name=LEDGER, data=st.data())
    def adopt(self, name: str, data: st.DataObject) -> None:
        """Mostly an environment tag that is there (pushed by hand, if any), sometimes any."""
        there = sorted(self.model.hand) or sorted(
            (v, e) for v in VERSIONS for e in ENVIRONMENTS
            if self.world.registry.digest(f"{v}-{e}") is not None)
        version, env = _pick(data, there, st.tuples(VERSION, ENV), "version, env")
        tag = f"{version}-{env}"
        present = self.world.registry.digest(tag)
        expect = self.model.adopt(version, env, present is not None)
        result = self._run(name, "adopt", lambda app, actor: app.adoption_service().adopt(
            AdoptRequest(version, env, "promoted by the old pipeline"), actor), expect)
        if result is None:
            return
        assert (result.tag, result.digest) == (tag, present)
        self.tags.claim([tag], result.digest, name, "adopt")
        self.model.adopted(version, env, result.digest)

    @rule(name=LEDGER, rebuild=st.booleans())
    def read(self, name: str, rebuild: bool) -> None:
        """``floe ledger rebuild`` (the views folded again from the first event), or
        ``status`` (other ledgers' records folded in): what it says runs where must be what
        the model says, wherever no tag was moved by hand."""
        if rebuild:
            self._run(name, "rebuild", lambda app, actor: app.store.rebuild_views())
            return
        read = self._run(name, "status", lambda app, actor: app.reconcile_service().environments(
            ENVIRONMENTS, actor))
        assert read.warnings == []
        for env, facts in read.facts.items():
            self.model.check_status(env, facts.version, facts.digest, facts.locked)

    # ---- the registry changed behind floe's back ------------------------------------------

    @rule(version=VERSION, env=ENV, to=st.sampled_from(("own", "own", "other", "stranger")))
    def push_env_tag_by_hand(self, version: str, env: str, to: str) -> None:
        """Another pipeline pushed ``{version}-{env}``: mostly the release's own bytes."""
        tag = f"{version}-{env}"
        if self.world.registry.digest(tag) is not None:
            return
        digest = {"own": self.world.release[version], "stranger": self.world.stranger}.get(
            to, next(d for v, d in self.world.release.items() if v != version))
        self.world.registry.by_hand(tag, digest)
        self.model.by_hand(version, env, created=digest)

    @rule(data=st.data(), delete=st.booleans())
    def move_or_delete_tag_by_hand(self, data: st.DataObject, delete: bool) -> None:
        tags = self.tags.floe_tags()
        if not tags:
            return
        tag = data.draw(st.sampled_from(tags), label="tag")
        digest = None if delete else data.draw(st.sampled_from(sorted(
            {*self.world.release.values(), self.world.stranger}
            - {self.world.registry.digest(tag)})), label="digest")
        self.world.registry.by_hand(tag, digest)
        self.model.tag_changed(tag)

    # ---- after every step -------------------------------------------------------------------

    @invariant()
    def ledgers_registry_and_views_agree(self) -> None:
        reported: dict[str, set[str]] = {}
        for name, ledger in self.world.ledgers.items():
            if not ledger.exists:
                continue
            # What did not change since the last audit of this ledger would say the same.
            key, last = (ledger.commands, self.world.registry.changes), self._audited.get(name)
            if last is not None and last[0] == key:
                reported[name] = last[1]
                continue
            app = ledger.reader()
            if last is None or last[0][0] != ledger.commands:  # its own commands ran
                check_views(app)  # (a)
            outcome = verify(app)  # (b), (c), and the views equal a fresh replay (a)
            assert outcome.breaks == [], outcome.payload()
            assert outcome.invalid_records == [] and outcome.warnings == [], outcome.payload()
            reported[name] = {d.tag for d in outcome.drift}
            self._audited[name] = (key, reported[name])
        assert not self.tags.note_puts(), "a tag was written outside any floe command"
        self.tags.check_reported(reported)  # (b)


def _glass(glass: bool) -> str | None:
    """A request's ``--break-glass`` reason when the step breaks glass."""
    return "hotfix" if glass else None


def _pick(data: st.DataObject, likely: list[tuple[str, str]],
          anything: st.SearchStrategy[tuple[str, str]], label: str) -> tuple[str, str]:
    """One of ``likely`` two times in three (when there are any), else anything."""
    if likely and data.draw(st.integers(0, 2), label="likely"):
        return data.draw(st.sampled_from(likely), label=label)
    return data.draw(anything, label=label)


SETTINGS = settings(max_examples=200, stateful_step_count=15, deadline=None,
                    derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def test_random_command_sequences_keep_ledgers_views_and_registry_in_step() -> None:
    OUTCOMES.clear()
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)
    print("\n".join(f"{n:5d}  {k}" for k, n in sorted(OUTCOMES.items())))
    # The runs reached every answer the model predicts (a machine that never got there
    # would pass vacuously).
    for outcome in ("promote: ok", "promote: invalid_transition", "promote: environment_locked",
                    "promote: tag_exists", "promote: not_found", "rollback: rolled back",
                    "rollback: version_not_promoted", "rollback: environment_locked",
                    "adopt: ok", "adopt: tag_exists", "adopt: not_found", "lock: ok",
                    "unlock: ok", "status: ok", "rebuild: ok"):
        assert OUTCOMES[outcome], f"no run reached {outcome}: {OUTCOMES}"

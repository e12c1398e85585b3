"""Issue 13 item 4, registry side: `floe` against a registry that answers with hostile
content (docs/hostile-registry.md has the table this test prints).

Every case poisons one answer of a proxy in front of the real registry and runs one floe
command as a user does (a subprocess, FLOE_DEBUG=1 so a traceback would show). Each must
end with its documented exit code and a message that says what happened, within a bounded
time and memory (the child's own peak RSS), without a traceback, without changing the
ledger (but for promote's recorded refusal, one PromotionRejected) or any registry tag,
and without leaving a file in a pull's target directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hostile_cases import Case
from support.hostile_matrix import CASES
from support.hostile_setup import Hostile, hostile_workspace
from support.registry_server import RegistryServer
from support.tables import add_row

RSS_LIMIT_MIB = 300
TIME_LIMIT_S = 30
TABLE = "Hostile registry answers (issue 13 item 4)"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory,
            registry_server: RegistryServer) -> Iterator[Hostile]:
    with hostile_workspace(tmp_path_factory.mktemp("hostile"), registry_server) as setup:
        yield setup


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


@pytest.mark.requirement("FR-032", "FR-045", "SC-002")
@pytest.mark.parametrize("case", CASES, ids=[_slug(c.name) for c in CASES])
def test_a_hostile_registry_answer_ends_in_its_documented_exit_code(
        hostile: Hostile, case: Case) -> None:
    h = hostile
    h.reset()
    case.poison(h)
    events, tags = h.ws.event_kinds(), h.tags()
    dest: Path = h.ws.root / "pulled" / _slug(case.name)
    command = [a.replace("{dest}", str(dest)) for a in case.command]
    env = dict(case.env) | ({"FLOE_MANIFEST": "plain.yaml"} if case.plain else {})

    run = h.run(*command, env=env, timeout=60)
    storage_auth, proxy_auth = h.storage.authorizations(), h.proxy.authorizations()
    storage_seen = len(h.storage.seen)
    h.reset()

    add_row(TABLE, case.name, {
        "command": " ".join(case.command[:2]), "exit": run.returncode,
        "expected": case.expect, "peak RSS MiB": round(run.peak_rss_mib),
        "seconds": round(run.seconds, 1), "tracebacks": run.tracebacks})
    assert not run.timed_out, run.output
    assert run.returncode == case.expect, run.output
    assert run.tracebacks == 0, run.output
    assert case.says in run.stdout + run.stderr, run.output
    assert run.peak_rss_mib < RSS_LIMIT_MIB and run.seconds < TIME_LIMIT_S
    written = h.ws.event_kinds()[len(events):]
    assert written == (["PromotionRejected"] if case.refusal_recorded else []), written
    assert h.tags() == tags
    if "pull" in command and case.expect != 0:
        assert not dest.exists() or list(dest.iterdir()) == []  # nothing partial, no temp
    if case.env:  # credentials were in use, and never went to the other origin
        assert proxy_auth and storage_auth == []
        assert storage_seen, "the blob was not fetched from the redirect target"

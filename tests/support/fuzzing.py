"""Hostile-input fuzzing (issue 13, item 4): run ``floe`` in-process on generated input and
check that it never fails the way a bug does.

    tally = Tally("manifest.yaml")
    result = invoke(["whoami", "-o", "json", "--manifest", str(path)], tally, allowed={2})

:func:`invoke` runs the real ``floe`` entry (``cli/main.py``) through click's CliRunner and
fails the test when anything escapes the error map (a Python exception, a "Traceback",
exit 1 "unexpected error", a gate that "crashed"), when the exit code is not one the case
allows, or when a control character reaches stderr raw. Each :class:`Tally` counts the
cases of one category; ``tests/conftest.py`` prints them all as one table at the end of
the run (with xdist too: the counts travel in the reports' ``user_properties``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

from floe_ledger.cli.main import cli
from support.fuzz_report import PROPERTY

# Raw C0/C1 controls (a newline is how lines end), DEL, and bidi overrides: never on stderr.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What each human stderr line may start with: floe's error map, click's usage errors.
HUMAN_LINES = ("error:", "hint:", "trace id:", "warning:", "Usage:", "Try '", "Error:")
BUG_MARKS = ("Traceback (most recent call last)", "unexpected error:", "gate crashed:")


def fuzz_settings(examples: int) -> settings:
    """Fixed, reproducible hypothesis settings: no example database, derandomized."""
    return settings(max_examples=examples, database=None, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


@dataclass
class Tally:
    """Cases run in one category, tracebacks seen, and the exit codes they ended with."""

    category: str
    cases: int = 0
    tracebacks: int = 0
    codes: Counter[int] = field(default_factory=Counter)
    peak_mib: float | None = None  # the largest peak RSS of a measured process

    def add(self, code: int, *, traceback: bool = False, peak_mib: float | None = None) -> None:
        self.cases += 1
        self.tracebacks += int(traceback)
        self.codes[code] += 1
        if peak_mib is not None:
            self.peak_mib = max(self.peak_mib or 0.0, peak_mib)

    def as_row(self) -> dict[str, Any]:
        return {"category": self.category, "cases": self.cases,
                "tracebacks": self.tracebacks, "codes": dict(self.codes),
                "peak_mib": self.peak_mib}


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Any:
    """``tally(category)`` → a :class:`Tally` reported with this test's result."""
    made: list[Tally] = []

    def make(category: str) -> Tally:
        made.append(Tally(category))
        return made[-1]

    yield make
    for t in made:
        request.node.user_properties.append((PROPERTY, t.as_row()))


def problems(result: Result, allowed: Iterable[int]) -> list[str]:
    """What is wrong with how a run ended; empty when it ended as documented."""
    found: list[str] = []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        found.append(f"exception escaped: {type(result.exception).__name__}: "
                     f"{result.exception}")
    text = result.stdout + result.stderr
    found += [f"{mark!r} in output" for mark in BUG_MARKS if mark in text]
    if result.exit_code not in set(allowed):
        found.append(f"exit {result.exit_code}, expected one of {sorted(set(allowed))}")
    if RAW_CONTROL.search(result.stderr):
        found.append("a raw control character on stderr")
    stray = [line for line in result.stderr.splitlines()
             if line.strip() and not line.startswith(HUMAN_LINES)]
    if stray and result.exit_code != 0:  # a value's newline would start a line of its own
        found.append(f"stderr line not from the error map: {stray[0][:120]!r}")
    return found


def invoke(args: Sequence[str], tally: Tally, allowed: Iterable[int],
           env: Mapping[str, str | None] | None = None) -> Result:
    """Run ``floe *args`` in-process; count it; fail on anything :func:`problems` finds."""
    result = CliRunner().invoke(cli, list(args), env=dict(env or {}), prog_name="floe")
    found = problems(result, allowed)
    tally.add(result.exit_code, traceback=any("Traceback" in p or "exception" in p
                                              for p in found))
    if found:
        shown = [a if len(a) < 200 else f"{a[:200]}...({len(a)})" for a in args]
        raise AssertionError(f"floe {shown!r}: " + "; ".join(found) +
                             f"\n--- stdout ---\n{result.stdout[:2000]}"
                             f"\n--- stderr ---\n{result.stderr[:2000]}")
    return result


@dataclass
class LocalSite:
    """A directory with an OCI-layout registry holding ``v1.0.0`` (perhaps in dev), for
    in-process runs that touch no network: ``manifest`` is rewritten per case."""

    root: Path
    env: dict[str, str | None]

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.yaml"

    def write(self, text: str | bytes) -> Path:
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        self.manifest.write_bytes(data)
        return self.manifest


BASE_MANIFEST = "artifacts:\n  registry:\n    uri: oci-layout:./reg\n"


def local_site(root: Path, *, promoted: bool = True) -> LocalSite:
    """Set up :class:`LocalSite` in ``root`` with the real CLI: push ``v1.0.0`` and, if
    ``promoted``, promote it to dev."""
    home = root / "home"
    home.mkdir()
    env: dict[str, str | None] = {
        "HOME": str(home), "DOCKER_CONFIG": str(home / ".docker"), "USER": "fuzzer",
        "NO_COLOR": "1", "FLOE_LEDGER_URL": None, "FLOE_MANIFEST": None, "FLOE_OUTPUT": None,
        "FLOE_OIDC_TOKEN": None, "FLOE_REGISTRY_USERNAME": None, "FLOE_REGISTRY_PASSWORD": None,
        "FLOE_DEBUG": None, "CI": None, "TRACEPARENT": None,
    }
    site = LocalSite(root, env)
    site.write(BASE_MANIFEST)
    (root / "bundle.yaml").write_text("release: v1.0.0\n")
    setup = Tally("setup")
    steps = [["artifact", "push", str(root / "bundle.yaml"), "v1.0.0"]]
    if promoted:
        steps.append(["platform", "promote", "v1.0.0", "--to", "dev"])
    for args in steps:
        invoke([*args, "--manifest", str(site.manifest)], setup, {0}, env)
    return site

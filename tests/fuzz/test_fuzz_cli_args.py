"""Hostile command-line arguments: every command of the click tree, every value it takes.

Each case is one command with valid values for everything but one parameter, which gets a
hostile value: outside the OCI tag grammar, overlong, control characters, newlines, bidi
overrides, bytes that are not UTF-8 (argv decodes them to surrogates), unicode digits,
empty. The run must end with a documented exit code, never 1 or a traceback, and print no
raw control character; a value that is plainly invalid for a name (version, environment,
reference, time, reason) must be refused with exit 2 (3 where a reference is only unknown).
Paths are relative to a scratch directory only: the fuzzer must not write outside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from floe_ledger.cli.main import cli
from support.fuzzing import LocalSite, Tally, fuzz_settings, invoke, local_site

V = "v1.0.0"
Spec = tuple[list[str], dict[str, str], dict[str, str]]  # fixed, required, optional
# A parameter named in capitals is positional (after "--"); the rest are options.
COMMANDS: dict[str, Spec] = {
    "platform promote": (["--dry-run"], {"VERSION": V, "--from": "dev", "--to": "staging"},
                         {"--break-glass": "INC-1"}),
    "platform status": ([], {}, {"--env": "dev", "--history": "3"}),
    "platform rollback": (["--dry-run"], {"VERSION": V, "--env": "dev"},
                          {"--reason": "bad release", "--break-glass": "INC-1"}),
    "platform lock": ([], {"--env": "prod", "--reason": "freeze"}, {}),
    "platform unlock": ([], {"--env": "prod", "--reason": "thaw"}, {}),
    "platform sync": (["--check"], {}, {}),
    "artifact keygen": ([], {"PREFIX": "keys/k"}, {"--password-env": "FUZZ_PASSWORD"}),
    "artifact push": ([], {"FILE": "bundle.yaml", "REF": "v9.0.0"},
                      {"--artifact-type": "application/vnd.floe.bundle.v1",
                       "--annotation": "org.example.k=v"}),
    "artifact sign": ([], {"REF": V, "--key": "signing.key"}, {"--password-env": "FUZZ_PW"}),
    "artifact verify": ([], {"REF": V}, {}),
    "artifact pull": ([], {"REF": V, "--dest": "pulled"}, {}),
    "artifact attach-bundle": ([], {"REF": V, "BUNDLE": "bundle.json"},
                               {"--payload": "bundle.yaml"}),
    "ledger init": ([], {}, {}),
    "ledger rebuild": ([], {}, {}),
    "ledger adopt": ([], {"VERSION": V, "--env": "staging", "--reason": "adopted"}, {}),
    "audit verify": ([], {}, {"--checkpoint": "cp.json", "--public-key": "signing.pub",
                              "--archive": "s3://floe-audit/prefix",
                              "--export": "export.jsonl", "--ledger": ".floe/ledger.sqlite"}),
    "audit replay": ([], {"--as-of": "now"}, {"--export": "export.jsonl",
                                              "--ledger": ".floe/ledger.sqlite"}),
    "audit history": ([], {}, {"--env": "dev", "--digest": "sha256:00", "--operator": "fuzzer",
                               "--kind": "promote", "--since": "2026-01-01",
                               "--until": "now", "--limit": "5", "--export": "export.jsonl",
                               "--ledger": ".floe/ledger.sqlite"}),
    "audit export": (["--force"], {"-f": "jsonl", "-O": "export.jsonl"},
                     {"--ledger": ".floe/ledger.sqlite"}),
    "audit checkpoint": ([], {"--key": "signing.key", "-O": "cp.json"},
                         {"--ledger": ".floe/ledger.sqlite"}),
    "audit archive": ([], {}, {"--deadline": "1", "--ledger": ".floe/ledger.sqlite"}),
    "whoami": ([], {}, {}),
    "schema": ([], {}, {"-O": "schema.json"}),
    "webhooks deliver": ([], {}, {"--deadline": "1"}),
    "webhooks status": ([], {}, {"--limit": "5"}),
    "init": (["--manifest", "init/manifest.yaml", "--force"], {"URI": "oci-layout:./reg"},
             {"--env": "dev"}),
    "doctor": ([], {}, {}),
    "completion": ([], {"SHELL": "bash"}, {}),
    "gc": (["--dry-run"], {"--keep": "2"}, {"--env": "dev"}),
    "metrics": ([], {}, {"--env": "dev", "--since": "7d", "--as-of": "now",
                         "--failure-window": "24h", "--export": "export.jsonl",
                         "--ledger": ".floe/ledger.sqlite"}),
    # never listens here (it would serve until killed): a non-loopback --host without
    # --allow-remote, and --checkpoint without --public-key, each refuse it (exit 2)
    "serve": ([], {"--host": "0.0.0.0", "--checkpoint": "cp.json"},
              {"--port": "0", "--public-key": "signing.pub", "--ledger": ".floe/ledger.sqlite"}),
}
# Names: a value that is plainly not one is exit 2 (3 for a reference that is merely unknown).
NAMES = {"VERSION": {2}, "REF": {2, 3}, "--from": {2}, "--to": {2}, "--env": {2},
         "--reason": {2}, "--break-glass": {2}, "--as-of": {2}, "--since": {2},
         "--until": {2}, "--digest": {2}, "--kind": {2}, "--failure-window": {2}}
# Every code a command may end with for a value that is not plainly invalid.
DOCUMENTED = {0, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14}

_controls = st.sampled_from(["\n", "\r", "\t", "\x1b[2K", "\x1b[31m", "\x07", "\x7f", "\x85",
                             "\u202e", "\u2066", "\u2028", "\x9b", "\x01"])
_surrogate = st.sampled_from(["\udcff", "\udc80", "\udcc3\udca9"])  # argv bytes not UTF-8
CLASSIC = [
    "", " ", "-", "--", "-x", "--help", ".", "..", "~", "*", "?", "'", '"', "\\", "$HOME",
    "${ARTIFACT_REF}", "%s%n", "x" * 10_000, "v" + "1" * 5000 + ".0.0", "a" * 129, "a" * 32,
    "v1.0.0\n", "v1.0.0 ", " v1.0.0", "V1.0.0", "v1.0", "v1.0.0-", "v1.0.0+", "v01.0.0",
    "v1.0.0-dev-dev", "v1.0.0-DEV", "v1\u0661.0.0", "v\uff11.\uff10.\uff10",
    "\uff44\uff45\uff56", "dev\u200b", "Dev",
    "prod/../dev", "sha256:" + "0" * 64, "sha256:" + "g" * 64, "sha256:", "@sha256:00",
    "host:5000/repo:tag", "a@b", "latest-dev", "floe-record-x", "-rf",
    "now\n", "2026-13-45", "9999-12-31T99:99:99Z", "0", "-1", "1e309", "nan", "inf",
    "999999999999999999999999", "☃", "\U0001f600", "a\u0301", "ǅ", "İ",
    "bundle.yaml", "manifest.yaml", "reg", ".floe", ".floe/ledger.sqlite", "sqlite:", "keys",
    "sqlite:x%00y", "sqlite:bundle.yaml", "postgresql://127.0.0.1:1/none", "signing.pub",
]
hostile = st.one_of(
    st.sampled_from(CLASSIC),
    st.builds(lambda a, c, b: a + c + b, st.sampled_from(["v1.0.0", "dev", "ok", ""]),
              st.one_of(_controls, _surrogate), st.sampled_from(["", "x", "dev", "[red]"])),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
            max_size=40),
)


TEXTS = ("--reason", "--break-glass")


def plainly_invalid(param: str, value: str) -> bool:
    """Blank or with control characters; for a name also padded or longer than a tag."""
    control = any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF
                  or c in "\u202e\u2066\u2028" for c in value)
    if param in TEXTS:
        return control or not value.strip()
    return control or not value.strip() or len(value) > 128 or value != value.strip()


PATHS = {"PREFIX", "FILE", "BUNDLE", "--payload", "--dest", "--key", "--checkpoint",
         "--public-key", "--export", "--ledger", "-O"}


def inside(value: str) -> str:
    """A path value kept inside the scratch directory (floe runs as root here): no leading
    '/', no '..', no absolute sqlite: URL."""
    if value.startswith("sqlite:"):
        return "sqlite:" + inside(value.removeprefix("sqlite:").lstrip("/"))
    return value.replace("..", "__").lstrip("/") or value


def argv(command: str, param: str, value: str, output: str) -> tuple[list[str], set[int]]:
    fixed, required, _ = COMMANDS[command]
    if param in PATHS:
        value = inside(value)
    chosen = {**required, param: value}
    options = [part for name, v in chosen.items() if not name.isupper() for part in (name, v)]
    positional = [v for name, v in chosen.items() if name.isupper()]
    if "-o" not in chosen:
        options += ["-o", output]
    allowed = DOCUMENTED
    if param in NAMES and plainly_invalid(param, value):
        allowed = NAMES[param]
    return [*command.split(), *fixed, *options, "--", *positional], allowed


def cases() -> list[tuple[str, str]]:
    found = []
    for command, (_, required, optional) in COMMANDS.items():
        found += [(command, p) for p in [*required, *optional]]
        found.append((command, "-o"))
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSite]:
    root = tmp_path_factory.mktemp("cli-fuzz")
    site = local_site(root)
    site.env.update({"FUZZ_PASSWORD": "pw", "FUZZ_PW": "", "FLOE_MANIFEST": str(site.manifest)})
    (root / "bundle.json").write_text("{}")
    setup = Tally("setup")
    invoke(["artifact", "keygen", str(root / "signing")], setup, {0}, site.env)
    before = Path.cwd()
    os.chdir(root)  # relative hostile paths land in the scratch directory
    try:
        yield site
    finally:
        os.chdir(before)


@pytest.mark.requirement("FR-032", "FR-031")
def test_every_command_of_the_click_tree_is_fuzzed() -> None:
    def walk(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    tree = dict(walk(cli, ""))
    assert set(tree) == set(COMMANDS)
    missing = []
    for name, command in tree.items():
        _, required, optional = COMMANDS[name]
        fuzzed = {p.lstrip("-") if p.startswith("-") else p.lower()
                  for p in [*required, *optional]}
        for param in command.params:
            if isinstance(param, click.Option) and (param.is_flag or param.name in (
                    "manifest", "output")):
                continue  # flags take no value; --manifest and -o are fuzzed elsewhere
            names = {o.lstrip("-") for o in getattr(param, "opts", [])} | {param.name or ""}
            if not names & fuzzed and (name, param.name) != ("artifact push", "args"):
                missing.append((name, param.name))
    assert missing == []


@pytest.mark.requirement("FR-032", "CLI-01", "CLI-14")
@given(case=st.sampled_from(cases()), value=hostile,
       output=st.sampled_from(["table", "json", "yaml"]))
@fuzz_settings(examples=700)
def test_hostile_arguments_end_with_a_documented_exit_code(site, tally, case, value,
                                                           output) -> None:
    command, param = case
    args, allowed = argv(command, param, value, output)
    if param == "-o":
        allowed = {2}
    invoke(args, tally("CLI arguments (all commands)"), allowed, site.env)


ENV_VARS = ("FLOE_OUTPUT", "FLOE_LEDGER_URL", "FLOE_MANIFEST", "USER", "TRACEPARENT",
            "COLUMNS", "NO_COLOR", "FLOE_DEBUG", "CI")


@pytest.mark.requirement("FR-032", "FR-045")
@given(name=st.sampled_from(ENV_VARS), value=hostile)
@fuzz_settings(examples=80)
def test_hostile_environment_variables_end_with_a_documented_exit_code(site, tally, name,
                                                                       value) -> None:
    count = tally("environment variables (lock, unlock)")
    env = {**site.env, name: value}
    for verb in ("lock", "unlock"):  # both record the operator (USER) and print a table
        invoke(["platform", verb, "--env", "prod", "--reason", "fuzz"], count, {0, 2, 3}, env)


# Every classic value through one parameter of each kind, so none depends on sampling luck.
SWEEP = [("platform promote", "VERSION"), ("platform promote", "--to"),
         ("artifact verify", "REF"), ("audit history", "--since"), ("platform lock", "--reason")]


@pytest.mark.requirement("FR-032", "CLI-01", "CLI-10")
@pytest.mark.parametrize(("command", "param"), SWEEP)
def test_every_classic_value_in_each_kind_of_parameter(site, tally, command, param) -> None:
    count = tally("CLI arguments (classic values swept)")
    for value in CLASSIC:
        args, allowed = argv(command, param, value, "table")
        invoke(args, count, allowed, site.env)

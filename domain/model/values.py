"""Value objects: digests, versions, tag names and the environment path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from floe_ledger.domain.model.errors import InvalidTransitionError, UsageError, quoted

# "\Z", not "$": re's "$" also matches before a final newline, so "v1.2.3\n" would pass.
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}\Z")
# ASCII digits only (a fullwidth one is a digit to \d and to int()), at most 30: a tag holds
# 128 characters, and int() refuses numbers of more than 4300 digits with a ValueError.
VERSION_RE = re.compile(
    r"^v?(?P<major>0|[1-9][0-9]{0,29})\.(?P<minor>0|[1-9][0-9]{0,29})"
    r"\.(?P<patch>0|[1-9][0-9]{0,29})"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?\Z"
)
# Lower-case letters and digits in words joined by single "-" or "_" ("pre-prod", "us_east"),
# starting with a letter, at most 31 characters: tags end in "-<env>", and are matched
# against the configured names, longest first (:func:`split_env_tag`).
ENV_NAME_RE = re.compile(r"^(?=.{1,31}\Z)[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*\Z")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\Z")


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a sha256 OCI digest, else raise UsageError."""
    if not DIGEST_RE.match(digest):
        raise UsageError(f"not a sha256 digest: {quoted(digest)}",
                         hint="digests look like sha256:<64 hex>")
    return digest


def check_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid OCI tag, else raise UsageError."""
    if not TAG_RE.match(tag):
        raise UsageError(
            f"not a valid OCI tag: {quoted(tag)}",
            hint="tags are 1-128 characters of letters, digits, '_', '.' and '-'",
        )
    return tag


@dataclass(frozen=True, order=True)
class Version:
    """A semantic version as released, e.g. ``v1.2.3``; ``text`` keeps the user's spelling."""

    major: int
    minor: int
    patch: int
    pre: str
    text: str

    @classmethod
    def parse(cls, text: str) -> Version:
        match = VERSION_RE.match(text)
        if not match:
            raise UsageError(
                f"not a semantic version: {quoted(text)}",
                hint="versions look like v1.2.3 (or 1.2.3, v1.2.3-rc.1)",
            )
        return cls(
            int(match["major"]), int(match["minor"]), int(match["patch"]), match["pre"] or "", text
        )

    def __str__(self) -> str:
        return self.text


def env_tag(version: str, env: str) -> str:
    """The immutable tag naming ``version`` in ``env`` (TAG-02)."""
    return check_tag(f"{version}-{env}")


def latest_tag(env: str) -> str:
    """The mutable tag naming what ``env`` runs now (TAG-03)."""
    return check_tag(f"latest-{env}")


ENV_INDEX_PREFIX, ENV_INDEX_SUFFIX = "floe-", "-index"


def env_index_tag(env: str) -> str:
    """floe's one tag per environment (mutable, rewritten by each command that writes about
    ``env``): an image index listing the environment's newest lock or unlock record and the
    newest ledger-head anchor of each ledger that acted there. Every ledger finds the lock
    state there, even when nothing runs in the environment."""
    return check_tag(f"{ENV_INDEX_PREFIX}{env}{ENV_INDEX_SUFFIX}")


def is_env_index(tag: str) -> bool:
    """Whether ``tag`` is an environment's index (``floe-<env>-index``). The environment is
    not last, so a tool watching ``*-<env>`` tags never takes it for an image."""
    return (tag.startswith(ENV_INDEX_PREFIX) and tag.endswith(ENV_INDEX_SUFFIX)
            and len(tag) > len(ENV_INDEX_PREFIX) + len(ENV_INDEX_SUFFIX))


def env_of_index(tag: str) -> str:
    """The environment an index tag is about (``floe-prod-index`` -> ``prod``)."""
    return tag[len(ENV_INDEX_PREFIX):-len(ENV_INDEX_SUFFIX)]


def rollback_tag(version: str, env: str, n: int) -> str:
    """The immutable tag of the n-th rollback of ``env`` to ``version`` (TAG-04)."""
    return check_tag(f"{version}-{env}-rollback-{n}")


def split_env_tag(tag: str, environments: tuple[str, ...]) -> tuple[str, str] | None:
    """``(version, env)`` of ``{version}-{env}``, or None if ``tag`` is not one.

    The configured names are tried longest first: with environments ``prod`` and
    ``pre-prod``, ``v1.0.0-pre-prod`` is v1.0.0 in pre-prod, not v1.0.0-pre in prod.
    """
    for env in sorted(environments, key=len, reverse=True):
        suffix = f"-{env}"
        if tag.endswith(suffix) and VERSION_RE.match(tag[: -len(suffix)]):
            return tag[: -len(suffix)], env
    return None


def strip_env_suffix(version: str, environments: tuple[str, ...], expected: str | None,
                     option: str = "--from") -> str:
    """Accept ``v1.2.3-dev`` where ``v1.2.3`` is meant (CLI-01), if ``dev`` is ``expected``
    (the environment the command names with ``option``).

    Raises:
        UsageError: the suffix names another configured environment than ``expected``, or
            ``expected`` is None (a promotion from the release tag): a version given as
            ``v1.2.3-dev`` with ``--from staging`` is a mistake, not something to guess at.
    """
    split = split_env_tag(version, environments)
    if split is None:
        return version
    bare, env = split
    if env == expected:
        return bare
    named = f"{option} {expected}" if expected else f"no {option} (the release tag)"
    raise UsageError(
        f"{version} names environment {env}, but the command gives {named}",
        hint=f"give the version alone ({bare}), or the environment it names ({option} {env})",
        details={"version": version, "environment": env, "expected": expected})


@dataclass(frozen=True)
class EnvironmentPath:
    """The ordered, one-way path of environments (FR-001, FR-001a, FR-001b)."""

    names: tuple[str, ...] = ("dev", "staging", "prod")

    def __post_init__(self) -> None:
        if not self.names:
            raise UsageError("the environment path is empty", hint="list at least one environment")
        if len(set(self.names)) != len(self.names):
            raise UsageError(f"environment names repeat: {list(self.names)}")

    @property
    def first(self) -> str:
        return self.names[0]

    def index(self, env: str) -> int:
        if env not in self.names:
            raise UsageError(
                f"unknown environment {quoted(env)}",
                hint=f"environments are: {' -> '.join(self.names)}",
                details={"environments": list(self.names)},
            )
        return self.names.index(env)

    def anchored_in(self, *envs: str) -> list[str]:
        """The environments whose ``floe-<env>-index`` index receives a command's head anchor:
        those of ``envs`` on the path, else the first (a refusal naming an unknown one)."""
        known = [e for e in dict.fromkeys(envs) if e in self.names]
        return known or [self.first]

    def previous(self, env: str) -> str | None:
        i = self.index(env)
        return self.names[i - 1] if i > 0 else None

    def later_than(self, env: str) -> tuple[str, ...]:
        return self.names[self.index(env) + 1 :]

    def check_transition(self, source: str | None, target: str) -> None:
        """Raise InvalidTransitionError unless ``target`` directly follows ``source``.

        ``source`` None means entering the first environment from the release tag.
        """
        target_i = self.index(target)
        path = " -> ".join(self.names)
        if source is None:
            if target_i != 0:
                raise InvalidTransitionError(
                    f"cannot promote into {target} from the release tag",
                    hint=f"only {self.first} is entered from the release tag; "
                    f"then promote {self.first}"
                    + "".join(f" -> {n}" for n in self.names[1 : target_i + 1]),
                    details={"required_path": list(self.names[: target_i + 1])},
                )
            return
        source_i = self.index(source)
        if target_i == source_i + 1:
            return
        if target_i <= source_i:
            reason = "promotion is one-way; use 'floe platform rollback' to go back"
        else:
            skipped = self.names[source_i + 1 : target_i]
            reason = f"it must pass through {', '.join(skipped)} first"
        raise InvalidTransitionError(
            f"cannot promote from {source} to {target}: {reason}",
            hint=f"the path is {path}; required: "
            + " -> ".join(self.names[min(source_i, target_i) : max(source_i, target_i) + 1]),
            details={"required_path": list(self.names), "source": source, "target": target},
        )

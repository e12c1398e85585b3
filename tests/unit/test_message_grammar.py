"""The grammar of every error message and hint written in floe's source (issue 14 item 5).

The messages are collected with an AST walk (``support/messages.py``), each rendered to the
texts it can produce, run-time values as ``X``. The convention (docs/conventions.md,
"Messages"): a message or hint starts lower-case unless its first word is a name
(``FLOE_LEDGER_URL``, ``GET``, ``Sigstore``) or one of the two openings the requirements
quote; it ends without a full stop; no word is doubled; "a"/"an" fit the next word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from floe_ledger.domain.model.authorization import authorize
from floe_ledger.domain.model.config import AuthorizationConfig
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.model.identity import Operator
from support.messages import PLACEHOLDER, Message, error_messages

ROOT = Path(__file__).resolve().parents[2]

#: Openings the requirements quote verbatim (US10 AS1, CLI-22).
QUOTED_OPENINGS = ("Unauthorized: ", "Separation of duties ")
#: Proper names a sentence may start with.
NAMES = {"Docker", "Sigstore", "Rekor", "Fulcio", "PostgreSQL", "SQLite", "Datasette"}
#: Words whose article is not given by their first letter.
ARTICLE = {"http": "an", "https": "an", "hour": "an", "honest": "an", "REF": "a",
           "one": "a", "once": "a", "sql": "either", "SQLite": "either"}
#: Phrasings that are wrong whatever fills the blanks, and why.
WRONG = {r"\bis not as an? ": "'is not as a …' (say what it is not: 'is not released')",
         r"\bverified\b[^.;]*\bverified\b": "'verified' twice"}
_LETTER_NAMES_WITH_VOWEL = set("AEFHILMNORSX")  # "an OCI", "an HTTP", "an SBOM"


def article_for(word: str) -> str:
    """The article the word takes: "a", "an", or "either" (it depends on how it is read)."""
    if word in ARTICLE or word.lower() in ARTICLE:
        return ARTICLE.get(word) or ARTICLE[word.lower()]
    letters = re.sub(r"[^A-Za-z]", "", word)
    if not letters:
        return "either"  # "a 5-minute …": digits are read as words; not checked
    if len(letters) > 1 and letters.isupper():  # an acronym, read letter by letter
        return "an" if letters[0] in _LETTER_NAMES_WITH_VOWEL else "a"
    low = letters.lower()
    if low.startswith(("uni", "use", "usa", "usu", "uri", "url", "utf", "eu")):
        return "a"
    return "an" if low[0] in "aeiou" else "a"


def problems(text: str) -> list[str]:
    """What is wrong with one rendered message or hint ([] if nothing)."""
    found = []
    first = text.split(" ", 1)[0]
    if text[:1].isupper() and not (
            text.startswith(QUOTED_OPENINGS) or first.rstrip(":,") in NAMES
            or re.fullmatch(r"[A-Z][A-Z0-9_]+:?", first)
            or re.match(rf"{PLACEHOLDER}(?![a-z])", first)):
        found.append(f"starts upper-case: {first!r}")
    if text.rstrip().endswith(".") and not text.rstrip().endswith("..."):
        found.append("ends with a full stop")
    for word in re.findall(r"\b([A-Za-z]+)\s+\1\b", text):
        if word != PLACEHOLDER:
            found.append(f"doubled word {word!r}")
    for article, word in re.findall(r"(?<![\w-])(a|an|A|An)\s+([\w'.-]+)", text):
        want = article_for(word.strip("'"))
        if word != PLACEHOLDER and want != "either" and article.lower() != want:
            found.append(f"{article!r} before {word!r}")
    if re.search(r"\S {2,}\S", text) or re.search(r" [,;:)](?!\.\.)", text):
        found.append("stray spacing")
    found += [why for pattern, why in WRONG.items() if re.search(pattern, text)]
    return found


def _all() -> list[Message]:
    return list(error_messages(ROOT))


@pytest.mark.requirement("SC-007", "FR-049")
def test_every_message_and_hint_in_the_source_reads_right() -> None:
    messages = _all()
    assert len(messages) > 300  # the walk finds them (there were 383 when this was written)
    bad = [f"{m.where} ({m.field}): {problem}: {text!r}"
           for m in messages for text in m.texts for problem in problems(text)]
    assert bad == []


@pytest.mark.requirement("SC-007")
@pytest.mark.parametrize(("text", "problem"), [
    ("v1.2.3 is not as a release tag in X (no tag X)", "is not as a"),
    ("the the tag", "doubled word"),
    ("an tag", "'an' before 'tag'"),
    ("a OCI index", "'a' before 'OCI'"),
    ("a error happened", "'a' before 'error'"),
    ("Not a digest", "starts upper-case"),
    ("cannot read X.", "full stop"),
    ("Signature verified (key X): X (X) Signature verified (key X)", "'verified' twice"),
    ("missing ,comma", "stray spacing"),
])
def test_the_checks_catch_what_they_are_for(text: str, problem: str) -> None:
    assert any(problem in p for p in problems(text)), problems(text)


@pytest.mark.requirement("SC-007")
@pytest.mark.parametrize("text", [
    "a URL", "an HTTP error", "an https URL", "a user", "an OCI index", "a JSON object",
    "FLOE_LEDGER_URL names an in-memory SQLite ledger", "GET X on X: the content is larger",
    "Unauthorized: X; required: X", "add artifacts.replicas: [{uri: ...}] to manifest.yaml",
    "X is not released in X (no tag X)",
])
def test_what_reads_right_passes(text: str) -> None:
    assert problems(text) == []


def _refusal(groups: list[str], operators: list[str], member_of: tuple[str, ...]) -> str:
    policy = AuthorizationConfig(allowed_groups=groups, allowed_operators=operators)
    try:
        authorize(policy, Operator("bob", "registry", groups=member_of, authenticated=True),
                  "promote to", "prod")
    except FloeError as err:
        return err.message
    raise AssertionError("bob was authorized")


@pytest.mark.requirement("FR-049", "CLI-21", "SC-012")
@pytest.mark.parametrize(("groups", "operators", "member_of", "expected"), [
    (["release"], [], (), "required: group release; bob is in no group"),
    (["qa", "ops"], [], ("dev",), "required: one of the groups qa or ops; bob is in group dev"),
    (["qa", "ops", "sre"], ["alice"], ("dev", "web"),
     "required: one of the groups qa, ops or sre, or operator alice; bob is in groups dev "
     "and web"),
    ([], ["alice", "carol"], ("dev", "web", "qa"),
     "required: one of the operators alice or carol; bob is in groups dev, web and qa"),
    (["sre"], ["alice"], (), "required: group sre or operator alice; bob is in no group"),
])
def test_an_authorization_error_lists_groups_and_operators_in_words(
        groups: list[str], operators: list[str], member_of: tuple[str, ...],
        expected: str) -> None:
    message = _refusal(groups, operators, member_of)
    assert message.startswith("Unauthorized: operator bob (identified by a registry "
                              "credential) is not authorized to promote to prod; ")
    assert message.endswith(expected)
    assert problems(message) == []

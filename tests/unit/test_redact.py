"""The one scrubber (security review §9): values and credential shapes, however cut."""

from __future__ import annotations

import pytest

from floe_ledger.adapters.observability.redact import looks_secret, scrub, secret_values

KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"


@pytest.mark.requirement("FR-011", "ENT-03")
@pytest.mark.parametrize(("text", "gone"), [
    ("db at https://u:p4ssw0rd@h/x", "p4ssw0rd"),
    ("Authorization: Basic YWxpY2U6aHVudGVyMg==", "YWxpY2U6aHVudGVyMg"),
    ("pre " + KEY + " post", "MIIEowIBAAKCAQEA"),
    (KEY[10:], "MIIEowIBAAKCAQEA"),                     # a tail that cut the BEGIN line
    ("x\n" + KEY[:-30], "MIIEowIBAAKCAQEA"),              # ... or the END line
    ("glpat-abcdefghijklmnopqrst12", "glpat-abcdefghij"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijkl", "github_pat_11"),
    ("aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("?token=abc123&x=1", "abc123"),
])
def test_credential_shapes_are_redacted(text: str, gone: str) -> None:
    out = scrub(text)
    assert gone not in out and "[REDACTED]" in out


@pytest.mark.requirement("FR-011")
def test_values_of_secret_looking_variables_are_redacted_and_nothing_else() -> None:
    env = {"MY_API_KEY": "k-123456", "CI_JOB_TOKEN": "t-987654", "PATH": "/usr/bin"}
    assert secret_values(env) == {"k-123456", "t-987654"}
    assert looks_secret("HOOK_SECRET") and not looks_secret("GITHUB_SHA")
    assert scrub("k-123456 and /usr/bin", secret_values(env)) == "[REDACTED] and /usr/bin"
    assert scrub("plain text, v1.2.3 passed") == "plain text, v1.2.3 passed"

"""The leak scanner of the secrets e2e test finds a secret in every form a client writes it
(a scanner that cannot find anything would pass every scan)."""

from __future__ import annotations

import json
from urllib.parse import quote

from floe_ledger.adapters.registry.auth import Credentials
from support.secret_scan import LeakScanner, Secret

PASSWORD = "pw-0123456789abcdef+/@"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2lnbmF0dXJlLXBhcnQtb2YtaXQ"


def test_each_form_of_a_secret_is_found_and_ordinary_text_is_not() -> None:
    scanner = LeakScanner([Secret("pw", PASSWORD, user="ci"), Secret("token", TOKEN)])
    samples = {
        "basic header": Credentials("ci", PASSWORD).basic_header(),
        "json": json.dumps({"password": PASSWORD}),
        "url": f"https://ci:{quote(PASSWORD, safe='')}@registry.example/v2/",
        "cut by a URL parser": "Port could not be cast to integer value as 'pw-0123456789abcdef+'",
        "jwt signature": "signature c2lnbmF0dXJlLXBhcnQtb2YtaXQ was refused",
        "bearer": f"Authorization: Bearer {TOKEN}",
    }
    for label, text in samples.items():
        scanner.scan("samples", label, text)
    scanner.scan("clean", "output", "registry 127.0.0.1:5000 refused user 'ci' (HTTP 401)")
    assert len(scanner.sources["samples"].hits) >= len(samples)
    assert {hit.split(" in ")[1].split(":")[0] for hit in scanner.sources["samples"].hits} \
        == set(samples)
    assert scanner.sources["clean"].hits == []
    assert "samples" in scanner.table() and "clean" in scanner.table()

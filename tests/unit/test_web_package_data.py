"""The dashboard's templates and static files are package data: the installed floe_ledger
(a strict editable install links only what pyproject.toml lists) holds every one (UI-07)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from floe_ledger.cli.web.server import HERE, templates

SOURCE = Path(__file__).resolve().parents[2] / "cli" / "web"


@pytest.mark.requirement("UI-07")
def test_every_template_and_static_file_is_installed_with_the_package() -> None:
    shipped = [p.relative_to(SOURCE) for d in ("templates", "static")
               for p in sorted((SOURCE / d).iterdir())]
    assert shipped
    installed = files("floe_ledger.cli.web")
    for rel in shipped:
        assert installed.joinpath(str(rel)).is_file(), f"{rel} is not package data"
        assert (HERE / rel).is_file()


@pytest.mark.requirement("UI-08")
def test_templates_escape_what_they_are_given() -> None:
    html = templates().get_template("missing.html").render(
        page="missing", what="<script>x</script>", detail="a & b")
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "a &amp; b" in html and '<html lang="en">' in html

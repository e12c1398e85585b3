"""``floe serve``: the read-only web dashboard (Starlette routes, Jinja2 templates, static
files shipped as package data). See :mod:`floe_ledger.cli.web.server`."""

# floe: two commands for a newcomer: `make demo` (quickstart) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck layers unit demo bench system-deps clean lock

# Dependencies come from requirements/dev.lock, every file checked against its sha256
# (`make lock` regenerates it after pyproject.toml changes); floe itself is then installed
# without resolving anything again, and byte-compiled as pip compiles an installed package
# (with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile it from source).
$(STAMP): pyproject.toml requirements/dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q --require-hashes -r requirements/dev.lock
	$(PIP) install -q --no-deps -e . --config-settings editable_mode=strict
	$(PY) -m compileall -q $$($(PY) -c 'import floe_ledger; print(*floe_ledger.__path__)') >/dev/null
	touch $(STAMP)

# Regenerate the hash-pinned locks (the test install, and a release install:
# `pip install --require-hashes -r requirements/release.lock` then floe with --no-deps).
lock: $(STAMP)
	$(PIP) install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -q -o requirements/dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -q -o requirements/release.lock

# Install (again: strict editable installs only see modules present at install time).
dev:
	rm -f $(STAMP)
	$(MAKE) $(STAMP)

# Debian packages the tests use: a real OCI registry, htpasswd, PostgreSQL, skopeo,
# and Chromium with its driver (the dashboard is tested in a real headless browser).
system-deps:
	@missing=""; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v htpasswd >/dev/null || missing="$$missing apache2-utils"; \
	command -v openssl >/dev/null || missing="$$missing openssl"; \
	command -v skopeo >/dev/null || missing="$$missing skopeo"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: $(STAMP)
	$(VENV)/bin/ruff check domain projections adapters cli tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

layers: $(STAMP)
	$(VENV)/bin/lint-imports

unit: $(STAMP)
	$(VENV)/bin/pytest -q tests/unit

# Everything CI runs: installs, static checks, then the whole suite against a real
# registry (started per test session) and a throwaway PostgreSQL on 127.0.0.1.
test: system-deps
	rm -f $(STAMP)
	$(MAKE) $(STAMP)
	$(MAKE) lint typecheck layers
	scripts/with-postgres.sh $(VENV)/bin/pytest -q -n 2 -p no:cacheprovider

# The quickstart: no server needed; an OCI image-layout directory and a SQLite ledger.
demo: $(STAMP)
	$(PY) scripts/demo.py

# Benchmarks print numbers against named peers; they assert nothing. Each writes its rows
# into benchmarks/results.json; the last step prints the issue 15 table from them.
bench: system-deps $(STAMP)
	$(PY) benchmarks/table.py --begin
	$(PY) benchmarks/promote.py
	$(PY) benchmarks/latency.py
	scripts/with-postgres.sh $(PY) benchmarks/ledger_store.py
	scripts/with-postgres.sh $(PY) benchmarks/ledger_scale.py
	$(PY) benchmarks/big_artifact.py
	$(PY) benchmarks/metrics.py
	$(PY) benchmarks/table.py

clean:
	rm -rf $(VENV) build *.egg-info .floe demo-out .pytest_cache .mypy_cache .ruff_cache

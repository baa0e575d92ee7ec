# bento-stripe: `make demo` runs the example project, `make test` runs the test suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-sqlite lint typecheck format migrations-check bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) setup.cfg pyproject.toml
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(PY) -m example_project.demo

# SQLite always; PostgreSQL when DATABASE_URL points at it; Redis tests when REDIS_URL is set.
test: venv
	$(PY) tests/run_lanes.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) typecheck
	$(PY) -m docutils --halt=warning README.rst /dev/null

# mypy with the django-stubs plugin (configuration in pyproject.toml).
typecheck: venv
	$(VENV)/bin/mypy bento_stripe

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: venv
	$(PY) manage.py makemigrations --check --dry-run

# Numbers, not tests (they print, assert nothing): delivery against the local Bento
# stand-in, then webhook translation and view latency. DATABASE_URL=postgres://... make
# bench measures PostgreSQL.
bench: venv
	$(PY) -m benchmarks.delivery
	$(PY) benchmarks/webhooks.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output db.sqlite3

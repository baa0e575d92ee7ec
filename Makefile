# bento-stripe: `make demo` runs the example project, `make test` runs the test suite.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-sqlite test-django test-django60 test-django61 lint typecheck format migrations-check docs release bench chaos clean

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
	$(VENV)/bin/lint-imports
	$(MAKE) typecheck
	$(PY) -m docutils --halt=warning README.rst /dev/null

# The documentation site (Sphinx, furo theme); any warning fails the build.
docs: venv
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

# Builds the sdist and the wheel, checks them as the package index will, lists what they
# hold. Never uploads (that is `twine upload dist/*`, by hand, after the checklist in
# docs/development.rst).
release: venv
	rm -rf dist build
	$(PY) -m build --outdir dist .
	$(VENV)/bin/twine check --strict dist/*
	$(PY) .ci/release_contents.py dist

# mypy with the django-stubs plugin (configuration in pyproject.toml).
typecheck: venv
	$(VENV)/bin/mypy bento_stripe

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: venv
	$(PY) manage.py makemigrations --check --dry-run

# Numbers, not tests (they print, assert nothing): ingest under gunicorn, processing by
# separate worker processes, end to end through qcluster processes and a Bento stand-in,
# on SQLite and on PostgreSQL + Redis side by side (benchmarks/run.py says how).
# BENCH_QUICK=1 make bench runs the short version (under ~4 minutes).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m benchmarks.run $(if $(BENCH_QUICK),--quick)

clean:
	rm -rf $(VENV) .venv-django* .pytest_cache .ruff_cache test-output db.sqlite3 dist build docs/_build

# Another Django version (6.0 or 6.1, Python >= 3.12) with dj-stripe 2.11 in its own venv
# (.ci/django says how): make test-django LANE=6.1 [PYTEST_ARGS=...].
LANE ?= 6.1
test-django:
	.ci/django $(LANE) $(PYTEST_ARGS)
test-django60:
	.ci/django 6.0 $(PYTEST_ARGS)
test-django61:
	.ci/django 6.1 $(PYTEST_ARGS)

# The whole system soaked with Stripe traffic and faults, checked against an independent
# model (chaos/); needs DATABASE_URL at PostgreSQL (the run makes and drops its own
# database there) and redis-server on the PATH (it runs its own). SEED, MINUTES, RATE.
chaos: $(BENCH_STAMP)
	$(PY) -m chaos $(if $(SEED),--seed $(SEED)) $(if $(MINUTES),--minutes $(MINUTES)) $(if $(RATE),--rate $(RATE)) $(if $(CHAOS_DATABASE),--database $(CHAOS_DATABASE))

"""Shared fixtures, and the report of which test lanes ran and which were skipped."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"

#: Fixtures of the local Stripe stand-in (``stripe_server``, ``stripe_settings``), and of the
#: webhook tests (signed Stripe events, endpoint, account, the Stripe API lookup stand-in),
#: of the Bento stand-in (``server``), and of the REST API tests (``world``).
pytest_plugins = [
    "tests.stripe_server",
    "tests.stripe_events",
    "tests.stripe_api_server",
    "tests.stripe_app_server",
    "tests.stripe_list_server",
    "tests.bento_server",
    "tests.api_helpers",
]


def _database_vendor() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


def _redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def lanes() -> dict[str, str | None]:
    """Each optional lane and why it is skipped (None: it runs)."""
    return {
        "postgres": None
        if _database_vendor() == "postgresql"
        else "DATABASE_URL does not point at PostgreSQL",
        "redis": None if _redis_url() else "REDIS_URL is not set",
        "browser": None
        if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)
        else "Debian's Chromium is missing: apt-get install -y chromium",
        "packaging": None
        if os.environ.get("PACKAGING_TESTS") == "1"
        else "set PACKAGING_TESTS=1 (builds and installs the wheel; needs the package index)",
    }


def pytest_report_header(config):
    ran = [name for name, why in lanes().items() if why is None]
    return f"bento-stripe lanes: database={_database_vendor()}; optional lanes on: {', '.join(ran) or 'none'}"


def pytest_collection_modifyitems(config, items):
    for name, why in lanes().items():
        if why is None:
            continue
        marker = pytest.mark.skip(reason=f"{name} lane skipped: {why}")
        for item in items:
            if name in item.keywords:
                item.add_marker(marker)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.section("bento-stripe lanes")
    terminalreporter.write_line(f"database: {_database_vendor()} (ran)")
    for name, why in lanes().items():
        terminalreporter.write_line(f"{name}: {'ran' if why is None else 'SKIPPED - ' + why}")


@pytest.fixture(autouse=True)
def _fresh_process_memory():
    """What a process remembers between requests (recent wake-ups, cached webhook
    endpoints) starts empty in every test, as in a fresh process."""
    from bento_stripe import wakeups
    from bento_stripe.webhooks import ingest

    wakeups.forget()
    ingest.forget()
    yield
    wakeups.forget()
    ingest.forget()


@pytest.fixture
def redis_url():
    url = _redis_url()
    if not url:
        pytest.skip("redis lane skipped: REDIS_URL is not set")
    return url


@pytest.fixture
def output_dir(request):
    """A directory for a test's artefacts (screenshots), under test-output/."""
    path = os.path.join(os.path.dirname(__file__), os.pardir, "test-output", request.node.name)
    os.makedirs(path, exist_ok=True)
    return os.path.abspath(path)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """One SQLite file for every test that runs ``make demo``, copied from the migrated
    template (benchmarks/template_db.py: migrated once per code version and cached), so the
    demo's own ``migrate`` finds nothing to do instead of replaying dj-stripe's history,
    which took minutes on a loaded machine."""
    from benchmarks.template_db import sqlite_clone

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    sqlite_clone(f"sqlite:///{path}")
    return path

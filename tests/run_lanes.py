"""Run the test suite in every lane this machine offers; say which ran, which were skipped
and why, and how long each took.

Lanes:

sqlite
    The whole suite, always (``TEST_WORKERS=2`` spreads it over two processes with
    pytest-xdist).
postgresql
    When DATABASE_URL points at PostgreSQL: every test module except those listed in
    ``DATABASE_AGNOSTIC`` (pages, browser, pure translation and money rules, schema and
    input checks, packaging...), whose outcome cannot depend on the database: they ran in
    the sqlite lane. New modules run in both lanes until someone lists them here.
    ``FULL_POSTGRES=1`` runs the whole suite on PostgreSQL as well.
swapped sqlite / swapped postgresql
    The install journey, webhook, processing and delivery tests again under
    ``tests.swapped_settings`` (a host's own Team, Site and team policy).
packaging
    Builds the wheel and installs it into a new project (tests/test_packaging.py), on
    Django 5.2 and, when a Python >= 3.12 is found, on Django 6.1.

Tests marked ``redis`` run when REDIS_URL is set; tests marked ``browser`` when Debian's
Chromium is installed. Extra pytest arguments come from the command line or PYTEST_ARGS;
the postgresql and swapped lanes choose their own files and take the arguments only when
they are all flags (``-x``, ``-q``). Exit status: the worst lane's.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: What the swapped lane runs: the models, the policy and the checks; the install journey
#: (pages, OAuth, API); webhooks, processing and delivery. The demo test starts the example
#: project with its own settings, so it adds nothing here.
SWAPPED_LANE = [
    "tests/test_swapping.py",
    "tests/test_models.py",
    "tests/test_oauth.py",
    "tests/test_pages.py",
    "tests/test_api.py",
    "tests/test_services.py",
    "tests/test_webhooks.py",
    "tests/test_processing.py",
    "tests/test_signals_routing.py",
    "tests/test_delivery.py",
    "tests/test_delivery_e2e.py",
    "--deselect",
    "tests/test_oauth.py::test_demo_lets_a_user_connect_stripe_without_credentials",
    "--ds",
    "tests.swapped_settings",
]

#: Test modules whose outcome cannot depend on the database engine, so the postgresql lane
#: leaves them to the sqlite lane: rendering and browsing (the queries behind the pages are
#: the ORM's, covered by the modules that write them), pure functions over payloads,
#: configuration checks, schema and input validation of the API (rejected before any
#: query), the OAuth state machine (session only), the example project's own settings,
#: processes that pick their own database (demo, chaos, packaging), and the security
#: suites that probe HTTP answers. Everything else, and every module added later, runs in
#: both lanes.
DATABASE_AGNOSTIC = [
    "tests/test_browser.py",
    "tests/test_browser_app.py",
    "tests/test_backfill_browser.py",
    "tests/test_review_browser.py",
    "tests/test_pages.py",
    "tests/test_translators.py",
    "tests/test_money_rules.py",
    "tests/test_checks.py",
    "tests/test_backends.py",
    "tests/test_api_schema.py",
    "tests/test_api_input.py",
    "tests/test_oauth_security.py",
    "tests/test_app_manifest.py",
    "tests/test_example_settings.py",
    "tests/test_demo.py",
    "tests/test_chaos.py",
    "tests/test_packaging.py",
    "tests/test_docs.py",
    "tests/test_money_format.py",
    "tests/security/test_escaping.py",
    "tests/security/test_webhook_fuzz.py",
    "tests/security/test_dependency_audit.py",
]


def _postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def run(label: str, env: dict[str, str], args: list[str]) -> tuple[int, float]:
    print(f"\n=== lane: {label} ===", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)
    return code, time.monotonic() - started


def _outcome(code: int) -> str:
    return "passed" if code == 0 else f"FAILED (exit {code})"


def _workers() -> list[str]:
    """``-n N`` when TEST_WORKERS asks for it and pytest-xdist is installed."""
    workers = os.environ.get("TEST_WORKERS", "")
    if not workers or workers in {"0", "1"}:
        return []
    if importlib.util.find_spec("xdist") is None:
        print("TEST_WORKERS is set but pytest-xdist is not installed: one process", flush=True)
        return []
    return ["-n", workers]


def main() -> int:
    args = sys.argv[1:] + shlex.split(os.environ.get("PYTEST_ARGS", ""))
    flags_only = all(arg.startswith("-") for arg in args)
    database_url = os.environ.get("DATABASE_URL", "")
    results: list[tuple[str, str, float | None]] = []
    worst = 0

    def record(label: str, code: int, seconds: float) -> None:
        nonlocal worst
        results.append((label, _outcome(code), seconds))
        worst = worst or code

    sqlite_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    record("sqlite", *run("sqlite", sqlite_env, [*_workers(), *args]))

    if _postgres(database_url):
        if os.environ.get("FULL_POSTGRES") == "1" or not flags_only:
            selection, label = args, "postgresql"
        else:
            ignored = [f"--ignore={path}" for path in DATABASE_AGNOSTIC]
            selection, label = [*ignored, *args], "postgresql (database-sensitive)"
        record(label, *run("postgresql", dict(os.environ), [*_workers(), *selection]))
    else:
        results.append(("postgresql", "SKIPPED: set DATABASE_URL=postgres://... to run it", None))

    # Flags alone (-x, -q) reach the swapped lane; paths or valued options (-k expr) do not.
    options = args if flags_only else []
    record("swapped sqlite", *run("swapped sqlite", sqlite_env, [*SWAPPED_LANE, *options]))
    if _postgres(database_url):
        record(
            "swapped postgresql",
            *run("swapped postgresql", dict(os.environ), [*SWAPPED_LANE, *options]),
        )
    else:
        results.append(
            ("swapped postgresql", "SKIPPED: set DATABASE_URL=postgres://... to run it", None)
        )

    # The wheel, installed into fresh venvs and a new project (minutes; the package index).
    record(
        "packaging",
        *run(
            "packaging",
            {**sqlite_env, "PACKAGING_TESTS": "1"},
            ["tests/test_packaging.py", "-m", "packaging", "-p", "no:cacheprovider", "-rs"],
        ),
    )

    redis = (
        "ran in every database lane" if os.environ.get("REDIS_URL") else "SKIPPED: set REDIS_URL"
    )
    results.append(("redis", redis, None))
    chromium = os.path.exists("/usr/bin/chromium")
    results.append(
        ("browser", "ran" if chromium else "SKIPPED: apt-get install -y chromium to run it", None)
    )

    print("\n=== bento-stripe test lanes ===")
    for name, outcome, seconds in results:
        took = f"{seconds:7.1f} s" if seconds is not None else " " * 9
        print(f"  {name:<33} {took}  {outcome}")
    total = sum(seconds for _, _, seconds in results if seconds is not None)
    print(f"  {'total':<33} {total:7.1f} s")
    return worst


if __name__ == "__main__":
    sys.exit(main())

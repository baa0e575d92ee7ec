"""Run the test suite in every lane this machine offers, and say which ran and which were skipped.

SQLite always runs. The PostgreSQL lane runs the whole suite again when DATABASE_URL
points at PostgreSQL. Tests marked ``redis`` run when REDIS_URL is set; tests marked
``browser`` run when Debian's Chromium is installed. The "swapped" lane runs the install
journey, webhook, processing and delivery tests again under ``tests.swapped_settings`` (a
host's own Team, Site and team policy), on SQLite and, when set, on PostgreSQL. The
"packaging" lane builds the wheel and installs it into a new project
(tests/test_packaging.py). Extra
pytest arguments come from the command line or PYTEST_ARGS (the swapped lane chooses its
own files, and takes them only when they are all flags).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

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


def run(label: str, env: dict[str, str], args: list[str]) -> int:
    print(f"\n=== lane: {label} ===", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)


def main() -> int:
    args = sys.argv[1:] + shlex.split(os.environ.get("PYTEST_ARGS", ""))
    database_url = os.environ.get("DATABASE_URL", "")
    results: list[tuple[str, str]] = []

    sqlite_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    code = run("sqlite", sqlite_env, args)
    results.append(("sqlite", "passed" if code == 0 else f"FAILED (exit {code})"))
    worst = code

    if database_url.startswith(("postgres://", "postgresql://")):
        code = run("postgresql", dict(os.environ), args)
        results.append(("postgresql", "passed" if code == 0 else f"FAILED (exit {code})"))
        worst = worst or code
    else:
        results.append(("postgresql", "SKIPPED: set DATABASE_URL=postgres://... to run it"))

    # Flags alone (-x, -q) reach the swapped lane; paths or valued options (-k expr) do not.
    options = args if all(arg.startswith("-") for arg in args) else []
    for label, env in (("swapped sqlite", sqlite_env), ("swapped postgresql", dict(os.environ))):
        if label.endswith("postgresql") and not database_url.startswith(
            ("postgres://", "postgresql://")
        ):
            results.append((label, "SKIPPED: set DATABASE_URL=postgres://... to run it"))
            continue
        code = run(label, env, [*SWAPPED_LANE, *options])
        results.append((label, "passed" if code == 0 else f"FAILED (exit {code})"))
        worst = worst or code

    # The wheel, installed into a fresh venv and a new project (minutes; the package index).
    code = run(
        "packaging",
        {**sqlite_env, "PACKAGING_TESTS": "1"},
        ["tests/test_packaging.py", "-m", "packaging", "-p", "no:cacheprovider"],
    )
    results.append(("packaging", "passed" if code == 0 else f"FAILED (exit {code})"))
    worst = worst or code

    redis = (
        "ran in every database lane" if os.environ.get("REDIS_URL") else "SKIPPED: set REDIS_URL"
    )
    results.append(("redis", redis))
    chromium = os.path.exists("/usr/bin/chromium")
    results.append(
        ("browser", "ran" if chromium else "SKIPPED: apt-get install -y chromium to run it")
    )

    print("\n=== bento-stripe test lanes ===")
    for name, outcome in results:
        print(f"  {name:<19} {outcome}")
    return worst


if __name__ == "__main__":
    sys.exit(main())

"""Run the test suite in every lane this machine offers, and say which ran and which were skipped.

SQLite always runs. The PostgreSQL lane runs the whole suite again when DATABASE_URL
points at PostgreSQL. Tests marked ``redis`` run when REDIS_URL is set; tests marked
``browser`` run when Debian's Chromium is installed. Extra pytest arguments come from
the command line or PYTEST_ARGS.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
        print(f"  {name:<11} {outcome}")
    return worst


if __name__ == "__main__":
    sys.exit(main())

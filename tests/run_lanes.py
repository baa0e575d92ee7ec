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

The lanes run in two tracks side by side (``TEST_PARALLEL=0``: one after the other): the
sqlite lanes in one, the PostgreSQL lanes and packaging in the other. Each lane is its own
pytest process with its own Redis database number (REDIS_URL's, plus 0 to 4), so lanes never
purge each other's queues; a lane's output is printed in one piece when it ends.

Tests marked ``redis`` run when REDIS_URL is set; tests marked ``browser`` when Debian's
Chromium is installed. Extra pytest arguments come from the command line or PYTEST_ARGS;
the postgresql and swapped lanes choose their own files and take the arguments only when
they are all flags (``-x``, ``-q``). Exit status: the worst lane's.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

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
#: the ORM's, covered by the modules that write them), pure functions over payloads (the
#: ledger's arithmetic and its hypothesis properties touch no table), configuration
#: checks, schema and input validation of the API (rejected before any query), the OAuth
#: state machine (session only), the example project's own settings, processes that pick
#: their own database (demo, chaos, packaging), and the security suites that probe HTTP
#: answers. Everything else, and every module added later, runs in both lanes.
DATABASE_AGNOSTIC = [
    "tests/test_browser.py",
    "tests/test_browser_app.py",
    "tests/test_backfill_browser.py",
    "tests/test_review_browser.py",
    "tests/test_pages.py",
    "tests/test_translators.py",
    "tests/test_money_rules.py",
    "tests/test_ledger.py",
    "tests/test_ledger_properties.py",
    "tests/test_events_reference.py",
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


def _redis_db(url: str, offset: int) -> str:
    """``url`` with its database number moved by ``offset`` (each lane its own Redis db, so
    lanes running side by side never purge each other's queues or rate windows)."""
    if not url or not offset:
        return url
    parts = urlsplit(url)
    path = parts.path.strip("/")
    number = int(path) if path.isdigit() else 0
    return urlunsplit(parts._replace(path=f"/{number + offset}"))


@dataclass
class Lane:
    label: str
    env: dict[str, str]
    args: list[str]
    code: int | None = None
    seconds: float = 0.0


def run(lane: Lane, *, capture: bool) -> None:
    """Run one lane's pytest; with ``capture`` its output is printed in one piece at its end,
    so two lanes running side by side do not interleave their lines."""
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", *lane.args]
    if not capture:
        print(f"\n=== lane: {lane.label} ===", flush=True)
        lane.code = subprocess.call(command, cwd=ROOT, env=lane.env)
    else:
        with tempfile.TemporaryFile("w+") as out:
            lane.code = subprocess.call(
                command, cwd=ROOT, env=lane.env, stdout=out, stderr=subprocess.STDOUT
            )
            out.seek(0)
            with PRINTING:
                print(f"\n=== lane: {lane.label} ===", flush=True)
                shutil.copyfileobj(out, sys.stdout)
                sys.stdout.flush()
    lane.seconds = time.monotonic() - started


PRINTING = threading.Lock()


def _outcome(code: int | None) -> str:
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


def _side_by_side() -> bool:
    """Two tracks at once unless TEST_PARALLEL=0 or the machine has one core."""
    wanted = os.environ.get("TEST_PARALLEL", "")
    if wanted in {"0", "1"}:
        return wanted == "1"
    return (os.cpu_count() or 1) >= 2


def main() -> int:
    args = sys.argv[1:] + shlex.split(os.environ.get("PYTEST_ARGS", ""))
    flags_only = all(arg.startswith("-") for arg in args)
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    skipped: list[tuple[str, str]] = []

    def env_for(offset: int, database: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if database or k != "DATABASE_URL"}
        if redis_url:
            env["REDIS_URL"] = _redis_db(redis_url, offset)
        return env

    # Two tracks, run side by side (each lane is one pytest process; the two PostgreSQL
    # lanes share the test database's name, so they stay in one track, one after the other).
    sqlite_track = [Lane("sqlite", env_for(0, False), [*_workers(), *args])]
    postgres_track: list[Lane] = []
    if _postgres(database_url):
        if os.environ.get("FULL_POSTGRES") == "1" or not flags_only:
            selection, label = args, "postgresql"
        else:
            ignored = [f"--ignore={path}" for path in DATABASE_AGNOSTIC]
            selection, label = [*ignored, *args], "postgresql (database-sensitive)"
        postgres_track.append(Lane(label, env_for(1, True), [*_workers(), *selection]))
    else:
        skipped.append(("postgresql", "SKIPPED: set DATABASE_URL=postgres://... to run it"))

    # Flags alone (-x, -q) reach the swapped lane; paths or valued options (-k expr) do not.
    options = args if flags_only else []
    sqlite_track.append(Lane("swapped sqlite", env_for(2, False), [*SWAPPED_LANE, *options]))
    if _postgres(database_url):
        postgres_track.append(
            Lane("swapped postgresql", env_for(3, True), [*SWAPPED_LANE, *options])
        )
    else:
        skipped.append(("swapped postgresql", "SKIPPED: set DATABASE_URL=postgres://... to run it"))

    # The wheel, installed into fresh venvs and a new project (minutes; the package index).
    packaging = Lane(
        "packaging",
        {**env_for(4, False), "PACKAGING_TESTS": "1"},
        ["tests/test_packaging.py", "-m", "packaging", "-p", "no:cacheprovider", "-rs"],
    )
    # The shorter track takes it (the PostgreSQL one when it runs).
    (postgres_track or sqlite_track).append(packaging)

    tracks = [track for track in (sqlite_track, postgres_track) if track]
    started = time.monotonic()
    if _side_by_side() and len(tracks) > 1:
        print(f"lanes: {len(tracks)} tracks side by side (TEST_PARALLEL=0: one by one)", flush=True)
        threads = [
            threading.Thread(target=lambda t=track: [run(lane, capture=True) for lane in t])
            for track in tracks
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for track in tracks:
            for lane in track:
                run(lane, capture=False)
    wall = time.monotonic() - started

    results: list[tuple[str, str, float | None]] = [
        (lane.label, _outcome(lane.code), lane.seconds) for track in tracks for lane in track
    ]
    results += [(name, outcome, None) for name, outcome in skipped]
    redis = "ran in every database lane" if redis_url else "SKIPPED: set REDIS_URL"
    results.append(("redis", redis, None))
    chromium = os.path.exists("/usr/bin/chromium")
    results.append(
        ("browser", "ran" if chromium else "SKIPPED: apt-get install -y chromium to run it", None)
    )

    print("\n=== bento-stripe test lanes ===")
    for name, outcome, seconds in results:
        took = f"{seconds:7.1f} s" if seconds is not None else " " * 9
        print(f"  {name:<33} {took}  {outcome}")
    print(f"  {'wall clock':<33} {wall:7.1f} s")
    codes = [lane.code for track in tracks for lane in track]
    return next((code for code in codes if code), 0) or 0


if __name__ == "__main__":
    sys.exit(main())

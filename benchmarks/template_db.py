"""Migrated template databases: migrate once per code version, copy per run.

Migrating the project from empty takes most of a minute on PostgreSQL (dj-stripe alone
has hundreds of operations). The benchmark, ``make chaos`` and CI lanes need many fresh,
fully migrated databases, so this module migrates one *template* per code version and
hands out copies:

* PostgreSQL: a database ``bst_tpl_<key>`` migrated once, then ``CREATE DATABASE x
  TEMPLATE bst_tpl_<key>`` per copy (a file copy inside the server, well under a second).
* SQLite: a migrated file ``<key>.sqlite3`` in a cache directory, copied per run.

The key is a hash of everything that decides the migrated schema: the database vendor
and the name and text of every migration file of every installed app (found by Django's
own migration loader in a child process, with the given settings), so a new migration,
an upgraded dj-stripe or another app list each make a new template, while two settings
modules with the same apps (the example project's and the benchmark's) share one. Building is safe when several
processes ask at once: on PostgreSQL an advisory lock serialises the builders and the
template is built under a temporary name and renamed when complete; on SQLite the file
is written beside its final name and renamed into place.

    # in Python
    from benchmarks.template_db import clone
    url = clone("postgres://postgres@127.0.0.1:5432/postgres", "mybench_1")
    url = clone("sqlite:////tmp/run", "phase1")          # /tmp/run/phase1.sqlite3

    # from a shell: a fresh migrated database at DATABASE_URL's name (replaced if present)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lane1 python -m benchmarks.template_db
    python -m benchmarks.template_db --url sqlite:////tmp/x.sqlite3 --settings example_project.settings
    python -m benchmarks.template_db --prune   # drop PostgreSQL templates of other keys
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_SETTINGS = "example_project.settings"
PREFIX = "bst_tpl_"
#: Where SQLite templates are kept between runs.
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bento-stripe" / "db"
#: pg_advisory_lock key (any constant bigint) serialising template builders on one server.
LOCK_KEY = 0x62656E746F5354  # "bentoST"

_LIST_MIGRATIONS = """
import django, hashlib, inspect, json, sys
django.setup()
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(None, ignore_no_migrations=True)
out = []
for (app, name), migration in sorted(loader.disk_migrations.items()):
    source = inspect.getsourcefile(type(migration)) or ""
    with open(source, "rb") as fh:
        out.append([app, name, hashlib.sha256(fh.read()).hexdigest()])
print(json.dumps(out))
"""


def _child_env(settings: str, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env.update(DJANGO_SETTINGS_MODULE=settings, DATABASE_URL=db_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    if not env.get("BENTO_STRIPE_ENCRYPTION_KEYS"):
        # With DEBUG off (benchmarks.settings) the system checks that migrate runs refuse
        # an empty key list (E001); the schema holds no secret, so any key does.
        from cryptography.fernet import Fernet

        env["BENTO_STRIPE_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    return env


def vendor(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgres"):
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise ValueError(f"unsupported database URL scheme {scheme!r} (postgres:// or sqlite://)")


def schema_key(settings: str = DEFAULT_SETTINGS, kind: str = "postgresql") -> str:
    """A short hash of the vendor and every migration file's name and text."""
    # The loader needs settings but no database; an in-memory SQLite URL keeps it offline.
    out = subprocess.run(
        [PY, "-c", _LIST_MIGRATIONS],
        cwd=ROOT,
        env=_child_env(settings, "sqlite://:memory:"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    digest = hashlib.sha256(f"{kind}\n".encode())
    digest.update(out.strip().splitlines()[-1].encode())
    return digest.hexdigest()[:16]


def _migrate(settings: str, db_url: str) -> None:
    subprocess.run(
        [PY, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=_child_env(settings, db_url),
        check=True,
    )


# --- PostgreSQL -------------------------------------------------------------------------


def _with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str):
    import psycopg

    # Any database on the server serves for CREATE/DROP; "postgres" always exists.
    return psycopg.connect(_with_dbname(url, "postgres"), autocommit=True, connect_timeout=10)


def _exists(conn, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def pg_template(url: str, settings: str = DEFAULT_SETTINGS) -> str:
    """The name of the migrated template for this code version on ``url``'s server (built if missing)."""
    name = PREFIX + schema_key(settings, "postgresql")
    with _admin(url) as conn:
        if _exists(conn, name):
            return name
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            if _exists(conn, name):  # another process built it while we waited
                return name
            building = f"{name}_building_{os.getpid()}"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{building}"')
            started = time.monotonic()
            try:
                _migrate(settings, _with_dbname(url, building))
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                raise
            # Complete: give it its final name, in one step, so nobody copies a half-built one.
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            print(
                f"template_db: migrated {name} in {time.monotonic() - started:.0f} s",
                file=sys.stderr,
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return name


def pg_clone(url: str, settings: str = DEFAULT_SETTINGS) -> str:
    """Replace the database named in ``url`` by a fresh copy of the template; returns ``url``."""
    template = pg_template(url, settings)
    target = urlsplit(url).path.lstrip("/")
    if not target or target == template or target.startswith(PREFIX):
        raise ValueError(f"refusing to replace database {target!r}")
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        # CREATE ... TEMPLATE fails while anyone is connected to the template; a builder
        # renaming it or a concurrent clone only holds it for a moment, so retry briefly.
        for attempt in range(50):
            try:
                conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
                break
            except Exception as exc:  # psycopg.errors.ObjectInUse
                if "being accessed by other users" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.1)
    return url


def pg_prune(url: str, settings: str = DEFAULT_SETTINGS) -> list[str]:
    """Drop the templates of other code versions on ``url``'s server; returns their names."""
    keep = PREFIX + schema_key(settings, "postgresql")
    with _admin(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
            ).fetchall()
        ]
        dropped = [n for n in names if n != keep and "_building_" not in n]
        for n in dropped:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
    return dropped


# --- SQLite -----------------------------------------------------------------------------


def sqlite_template(settings: str = DEFAULT_SETTINGS, cache: Path = CACHE) -> Path:
    """The migrated SQLite file for this code version (built if missing)."""
    path = cache / f"{schema_key(settings, 'sqlite')}.sqlite3"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    building = path.with_name(f"{path.stem}.building-{os.getpid()}.sqlite3")
    building.unlink(missing_ok=True)
    started = time.monotonic()
    try:
        _migrate(settings, f"sqlite:///{building}")
        # Fold a WAL journal into the file so that the one file is the whole database.
        with contextlib.closing(sqlite3.connect(building)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        for suffix in ("-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        os.replace(building, path)  # atomic: a reader sees no file or a complete one
    finally:
        building.unlink(missing_ok=True)
    print(f"template_db: migrated {path} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return path


def sqlite_clone(url: str, settings: str = DEFAULT_SETTINGS) -> str:
    """Replace the SQLite file at ``url`` by a copy of the migrated template; returns ``url``."""
    target = Path(url.removeprefix("sqlite:///"))  # sqlite:////abs/path or sqlite:///relative
    template = sqlite_template(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    return url


# --- both -------------------------------------------------------------------------------


def clone_url(url: str, settings: str = DEFAULT_SETTINGS) -> str:
    """A fresh migrated database at ``url`` (PostgreSQL or SQLite), replacing what is there."""
    if vendor(url) == "postgresql":
        return pg_clone(url, settings)
    return sqlite_clone(url, settings)


def clone(base_url: str, name: str, settings: str = DEFAULT_SETTINGS) -> str:
    """A fresh migrated database called ``name`` beside ``base_url``; returns its URL.

    For PostgreSQL ``base_url`` names any database on the server; for SQLite it names a
    directory (``sqlite:////tmp/run``) and the copy is ``<directory>/<name>.sqlite3``.
    """
    if vendor(base_url) == "postgresql":
        return pg_clone(_with_dbname(base_url, name), settings)
    directory = Path(base_url.removeprefix("sqlite:///"))
    return sqlite_clone(f"sqlite:///{directory / f'{name}.sqlite3'}", settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument(
        "--settings", default=os.environ.get("DJANGO_SETTINGS_MODULE") or DEFAULT_SETTINGS
    )
    parser.add_argument("--key", action="store_true", help="print the schema key and exit")
    parser.add_argument("--prune", action="store_true", help="drop other keys' PG templates")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set DATABASE_URL")
    if args.key:
        print(schema_key(args.settings, vendor(args.url)))
        return 0
    if args.prune:
        print(json.dumps({"dropped": pg_prune(args.url, args.settings)}))
        return 0
    started = time.monotonic()
    clone_url(args.url, args.settings)
    print(json.dumps({"url": args.url, "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The system under test, started as a user runs it, and the faults done to it.

PostgreSQL (a database of the run's own, created and dropped here), a Redis server of the
run's own (a child process on a free port, so restarting it touches no one else's),
gunicorn serving the example project, two ``manage.py qcluster`` processes, and the
Stripe and Bento stand-ins. Process handling comes from ``benchmarks.run``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from benchmarks.run import GUNICORN, PY, ROOT, Processes, free_port, run_json, wait_http, wait_log

from .bento_standin import ChaosBento
from .tenants import site_credentials  # noqa: F401 - re-exported for the runner

#: The secret of the run's webhook endpoint (made up, local).
SECRET = "whsec_chaos_0123456789abcdefghijklmnop"  # noqa: S105


class System:
    def __init__(
        self, work: Path, pg_admin: str, database: str, bento: ChaosBento, stripe_url: str
    ):
        self.work = work
        self.procs = Processes(work)
        self.pg_admin = pg_admin
        self.database = database
        self.db_url = pg_admin.rsplit("/", 1)[0] + f"/{database}"
        self.bento = bento
        self.stripe_url = stripe_url
        self.redis_port = free_port()
        self.redis: subprocess.Popen | None = None
        self.gunicorn_port = free_port()
        self.gunicorn: subprocess.Popen | None = None
        self.qclusters: dict[int, subprocess.Popen] = {}
        self.webhook_path = ""
        self.sites: list[dict] = []
        from cryptography.fernet import Fernet

        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
            },
            "DATABASE_URL": self.db_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DJANGO_SETTINGS_MODULE": "chaos.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECRET_KEY": "chaos-" + Fernet.generate_key().decode(),
            "BENTO_STRIPE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "BENTO_API_URL": bento.url,
            "BENTO_BACKEND": "http",
            "STRIPE_API_BASE": stripe_url,
            "STRIPE_CONNECT_BASE": stripe_url,
            "PYTHONPATH": str(ROOT),
            "Q_WORKERS": "2",
        }

    # --- database ------------------------------------------------------------------------
    def admin(self, dbname: str = ""):
        import psycopg

        url = self.pg_admin if not dbname else self.db_url
        return psycopg.connect(url, autocommit=True, connect_timeout=5)

    def drop_database(self) -> None:
        with contextlib.suppress(Exception), self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """A read of the run's database on a connection of our own (never the app's code)."""
        with self.admin(self.database) as conn:
            return conn.execute(sql, params).fetchall()

    def prepare(self) -> None:
        # A copy of the migrated template (benchmarks/template_db.py: migrated once per code
        # version, then CREATE DATABASE ... TEMPLATE, well under a second) instead of a
        # migrate from empty, which was most of a short run's time.
        from benchmarks.template_db import pg_clone

        pg_clone(self.db_url)
        endpoint = run_json(
            [PY, "manage.py", "bento_stripe_endpoint", "--url", "http://127.0.0.1:8000"]
            + ["--local", "--livemode", "--secret", SECRET, "--json"],
            self.env,
            "bento_stripe_endpoint",
        )
        self.webhook_path = endpoint["path"]
        self.sites = run_json([PY, "-m", "chaos.tenants", "setup"], self.env, "tenants")["sites"]
        for s in self.sites:
            self.bento.sites[s["uuid"]] = (s["publishable"], s["secret"])

    def control(self, *argv: str) -> None:
        subprocess.run([PY, "-m", "chaos.tenants", *argv], cwd=ROOT, env=self.env, check=True)

    def prune(self, days: int = 0) -> str:
        """``manage.py bento_stripe_prune --days N`` while traffic flows, as an operator runs
        it; the lines it printed, on one line."""
        done = subprocess.run(
            [PY, "manage.py", "bento_stripe_prune", "--days", str(days)],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return "; ".join(line.strip() for line in done.stdout.splitlines()[1:-1])

    # --- processes -----------------------------------------------------------------------
    def start_redis(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.redis = self.procs.start(
            "redis",
            [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no"],
            self.env,
        )
        wait_log(self.procs, "redis", "Ready to accept connections", timeout=20)

    def start_gunicorn(self) -> None:
        self.gunicorn = self.procs.start(
            "gunicorn",
            [PY, "-m", "gunicorn", "example_project.wsgi:application"]
            + ["-b", f"127.0.0.1:{self.gunicorn_port}", *GUNICORN],
            self.env,
        )
        wait_http(f"http://127.0.0.1:{self.gunicorn_port}/admin/login/", timeout=60)

    def start_qcluster(self, n: int) -> None:
        marker = self.work / f"qcluster{n}.log"
        offset = marker.stat().st_size if marker.exists() else 0
        self.qclusters[n] = self.procs.start(
            f"qcluster{n}", [PY, "manage.py", "qcluster"], self.env
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if "running" in marker.read_text(errors="replace")[offset:]:
                return
            time.sleep(0.3)
        raise RuntimeError(f"qcluster{n} did not start:\n{self.procs.tail(f'qcluster{n}')}")

    def start(self) -> None:
        self.start_redis()
        self.prepare()
        for n in (1, 2):
            self.start_qcluster(n)
        self.start_gunicorn()

    def stop(self, drop: bool = True) -> None:
        self.procs.stop_all()
        if drop:
            self.drop_database()

    # --- faults --------------------------------------------------------------------------
    def kill_qcluster(self, n: int, down: float = 3.0) -> None:
        proc = self.qclusters[n]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self.procs.running = [(name, p) for name, p in self.procs.running if p is not proc]
        time.sleep(down)
        self.start_qcluster(n)

    def restart_gunicorn(self) -> None:
        if self.gunicorn is not None:
            self.procs.stop(self.gunicorn)
        self.start_gunicorn()

    def restart_redis(self, down: float = 2.0) -> None:
        if self.redis is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.redis.pid, signal.SIGKILL)
            self.redis.wait()
            self.procs.running = [(n, p) for n, p in self.procs.running if p is not self.redis]
        time.sleep(down)
        log = self.work / "redis.log"
        log.write_text("")
        self.start_redis()

    def terminate_connections(self) -> int:
        """``pg_terminate_backend`` every other connection to the run's own database."""
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.database,),
            ).fetchall()
        return len(rows)

    def broker_depth(self) -> int:
        import redis

        client = redis.Redis(port=self.redis_port, socket_timeout=1, socket_connect_timeout=1)
        try:
            return int(client.llen("django_q:bento_stripe:q"))
        finally:
            client.close()

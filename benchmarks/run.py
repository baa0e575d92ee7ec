"""``make bench``: bento-stripe measured as users run it, on SQLite and on PostgreSQL + Redis.

Numbers, not tests: nothing here asserts a speed. One run measures, side by side:

1. **ingest**: gunicorn (2 gthread workers, DEBUG off) answering pre-signed distinct
   events from a keep-alive load generator (``benchmarks.load``, its own process):
   our webhook against a bare Django view in the same server (the ceiling) and against
   dj-stripe's stock ``ProcessWebhookView`` with a matching endpoint secret.
2. **processing**: events applied per second by one and by two worker processes
   running ``process_waiting``, and SQL queries per event, at PROCESS_BATCH_SIZE 1, 10
   and 100 (``benchmarks.processing``).
3. **end to end**: gunicorn serving the example project, two ``manage.py qcluster``
   processes, 20 accounts on 20 sites, a burst of events posted as fast as the server
   takes them, until the Bento stand-in (``tests/bento_server.py``, a real HTTP
   server) has every event; Bento requests per 1,000 events, most requests a minute
   per site.
4. **latency**: a steady 50 events/s, POST → Bento request, p50 and p99.
5. **backfill**: objects imported per second from a Stripe list stand-in in its own
   process (its answering time left out), and peak memory (resident set, sampled) at
   10,000 and 100,000 charges, as a ratio (``benchmarks.backfill``).

Every phase gets a fresh database copied from a template: the schema is migrated once
per code version and kept (``benchmarks.template_db``: ``bst_tpl_<hash>`` on PostgreSQL,
a cached SQLite file), copied into a seeded ``tpl`` per run, and that is copied per phase
(``bench_<pid>_*`` databases on PostgreSQL, dropped at the end; temporary SQLite files
with WAL). Redis is a redis-server the bench starts on a free port (or
``BENCH_REDIS_URL``), flushed between phases. Stripe's API is a local stand-in that
refuses every call and counts it. Each end-to-end run prints where each event's time
went (``benchmarks.stages``). Prints a table with the targets and writes
``benchmarks/results/latest.json``; ``python -m benchmarks.docs`` makes the docs' page.

    make bench                      # full (about 15 minutes; 25 with BENCH_SOAK=1)
    BENCH_QUICK=1 make bench        # short (under about 4 minutes)
    .venv/bin/python -m benchmarks.run --phases backfill --only postgres --out /tmp/b.json
    .venv/bin/python -m benchmarks.run --quick --only sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import template_db
from .load import percentile
from .stages import render as render_stages
from .stages import stage_breakdown
from .standins import StripeNowhere

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
ACCOUNTS = 20
#: gunicorn as the benchmark runs it: 2 workers, threads so that keep-alive works.
GUNICORN = ["-w", "2", "-k", "gthread", "--threads", "2", "--keep-alive", "60"]
LOAD_THREADS = 4
#: django-q2's cluster name in example_project.settings (its Redis list is django_q:<name>:q).
CLUSTER = "bento_stripe"
#: The end-to-end phase's qcluster processes: two on the default (processing) cluster and
#: one on the delivery cluster (example_project.settings with Q_SEPARATE_QUEUES=1).
DELIVERY_CLUSTER = {"Q_CLUSTER_NAME": "bento_stripe_delivery"}
QCLUSTERS = (
    (1, {}),
    (2, {}),
    (3, DELIVERY_CLUSTER),
)
#: The settings every bench process runs with (the template is migrated with them).
SETTINGS = "benchmarks.settings"


@dataclass(frozen=True)
class Steady:
    """A steady run: ``rate`` events a second for ``seconds``, spread over ``accounts`` sites."""

    name: str
    rate: int
    seconds: int
    accounts: int = ACCOUNTS
    #: Backends it runs on (SQLite's end-to-end rate is far lower: only the main run).
    backends: tuple[str, ...] = ("postgres",)

    @property
    def label(self) -> str:
        return f"{self.rate}/s for {self.seconds} s over {self.accounts} sites"


#: 200 sites for the run that spreads a stream thin (a platform's many shops).
SPREAD_ACCOUNTS = 200
#: The long run, by flag (``--soak`` or ``BENCH_SOAK=1``): 50 events/s for 10 minutes.
SOAK = Steady("soak", 50, 600)


@dataclass(frozen=True)
class Sizes:
    """How much each phase sends. SQLite's end-to-end rate is far lower, so it gets fewer events."""

    ingest: int
    ingest_djstripe: int
    #: Our webhook with CONN_MAX_AGE=0 (a connect per request, about 220/s): fewer events.
    ingest_no_keep: int
    processing: dict[int, int]
    queries: dict[int, int]
    e2e: dict[str, int]
    steady_seconds: int
    #: SQLite's main steady run (its latency is shown, not a target): shorter.
    sqlite_steady_seconds: int
    #: Backends whose steady-rate latency is measured.
    steady: tuple[str, ...] = ("sqlite", "postgres")
    steady_rate: int = 50
    #: Charges of the small and the large account of the backfill phase.
    backfill: tuple[int, ...] = (10000, 100000)
    #: Steady runs besides the main one (``steady``), on PostgreSQL + Redis.
    more_steady: tuple[Steady, ...] = ()

    def steady_runs(self, backend: str, soak: bool = False) -> list[Steady]:
        seconds = self.sqlite_steady_seconds if backend == "sqlite" else self.steady_seconds
        main = Steady("steady", self.steady_rate, seconds, backends=self.steady)
        runs = [main, *self.more_steady, *([SOAK] if soak else [])]
        return [r for r in runs if backend in r.backends]

    @property
    def accounts(self) -> int:
        """Sites the template needs: the most any run spreads over."""
        return max([ACCOUNTS, *(r.accounts for r in self.more_steady)])


QUICK = Sizes(
    ingest=1000,
    ingest_djstripe=100,
    ingest_no_keep=500,
    processing={1: 60, 10: 300, 100: 1000},
    queries={1: 50, 10: 200, 100: 1000},
    e2e={"sqlite": 300, "postgres": 2000},
    steady_seconds=15,
    sqlite_steady_seconds=15,
    steady=("postgres",),
    backfill=(1000, 10000),
)
FULL = Sizes(
    ingest=8000,
    ingest_djstripe=300,
    ingest_no_keep=2000,
    processing={1: 300, 10: 2000, 100: 10000},
    queries={1: 200, 10: 400, 100: 2000},
    e2e={"sqlite": 3000, "postgres": 10000},
    steady_seconds=60,
    sqlite_steady_seconds=20,
    more_steady=(
        Steady("trickle", 10, 60),
        Steady("spread", 20, 60, accounts=SPREAD_ACCOUNTS),
        Steady("heavy", 150, 40),
    ),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- processes ---------------------------------------------------------------------------


class Processes:
    """Every process the benchmark starts, each in its own session (so its group dies with it)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 15.0) -> None:
        self.stop_many([proc], timeout)

    def stop_many(self, procs: list[subprocess.Popen], timeout: float = 15.0) -> None:
        """Ask every process to stop at once, wait up to ``timeout`` for all of them, then
        kill what is left of their groups: the slowest sets the wait, not the sum.

        SIGTERM goes to the leader only (gunicorn's master, qcluster's main process), which
        stops its own children: sent to a qcluster's whole group, it kills the children
        under the main process, which then waits for them until killed.
        """
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group
            proc.wait()
        self.running = [(n, p) for n, p in self.running if p not in procs]

    def stop_all(self) -> None:
        self.stop_many([proc for _, proc in reversed(self.running)])

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def run_json(argv: list[str], env: dict, what: str, timeout: float = 1800) -> dict:
    """Run a helper to completion (its own session, killed on timeout); its last stdout line is JSON."""
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our local server
                return
        except OSError as exc:
            if time.time() > deadline:
                raise RuntimeError(f"{url} did not come up: {exc}") from exc
            time.sleep(0.2)


def wait_log(procs: Processes, name: str, needle: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while needle not in (procs.logs / f"{name}.log").read_text(errors="replace"):
        if time.time() > deadline:
            raise RuntimeError(f"{name} did not start:\n{procs.tail(name)}")
        time.sleep(0.2)


# --- databases ---------------------------------------------------------------------------


@dataclass
class Backend:
    """One column of the table: a database (and broker) and its fresh copies."""

    key: str
    label: str
    work: Path
    redis_url: str = ""
    pg_admin: str = ""
    made: list[str] = field(default_factory=list)
    #: Our webhook path and dj-stripe's stock one in this backend's template.
    paths: tuple[str, str] = ("", "")

    def url(self, name: str) -> str:
        if self.pg_admin:
            base = self.pg_admin.rsplit("/", 1)[0]
            return f"{base}/bench_{os.getpid()}_{name}"
        return f"sqlite:///{self.work / f'{name}.sqlite3'}"

    def admin(self):
        import psycopg

        return psycopg.connect(self.pg_admin, autocommit=True)

    def create(self, name: str, template: str | None = None) -> str:
        """A new empty database, or a copy of ``template``; returns its URL."""
        if self.pg_admin:
            db = f"bench_{os.getpid()}_{name}"
            source = f' TEMPLATE "bench_{os.getpid()}_{template}"' if template else ""
            with self.admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
                conn.execute(f'CREATE DATABASE "{db}"{source}')
            self.made.append(db)
        elif template:
            shutil.copyfile(self.work / f"{template}.sqlite3", self.work / f"{name}.sqlite3")
        return self.url(name)

    def clone_migrated(self, name: str) -> str:
        """A fresh copy of the migrated template database (``benchmarks.template_db``)."""
        url = self.url(name)
        template_db.clone_url(url, SETTINGS)
        if self.pg_admin:
            self.made.append(url.rsplit("/", 1)[1])
        return url

    def flush_redis(self) -> None:
        if self.redis_url:
            import redis

            redis.Redis.from_url(self.redis_url).flushdb()

    def drop_all(self) -> None:
        if not self.pg_admin:
            return
        with contextlib.suppress(Exception), self.admin() as conn:
            for db in reversed(self.made):
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self.made.clear()

    def env(self, db_url: str, settings: str, **extra: str) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        env.update(DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE=settings, **extra)
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return env

    def queue_depth(self, db_url: str) -> int:
        """Tasks waiting in the django-q2 broker (each cluster also holds up to queue_limit)."""
        if self.redis_url:
            import redis

            return redis.Redis.from_url(self.redis_url).llen(f"django_q:{CLUSTER}:q")
        with contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as conn:
            return conn.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]

    def defer_schedules(self, db_url: str, minutes: int = 60) -> int:
        """Move the schedules that run every 5 minutes or less often ``minutes`` ahead.

        The template's schedules were made when it was migrated, so at a phase's start
        every one of them is long overdue and all fire together (reconciliation reading
        every account's lists at the stand-in, pruning, rolling tokens), inside whichever
        measurement comes first. A deployment that keeps running has them spread over
        the day. The every-minute sweeps keep their times and run during the phases.
        """
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        where = "NOT (schedule_type = 'I' AND minutes < 5)"
        sql = f"UPDATE django_q_schedule SET next_run = {{}} WHERE {where}"  # noqa: S608 - constant
        if self.pg_admin:
            import psycopg

            with psycopg.connect(db_url, autocommit=True) as conn:
                return conn.execute(sql.format("%s"), (later,)).rowcount
        with contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as conn:
            stamp = later.strftime("%Y-%m-%d %H:%M:%S.%f")
            moved = conn.execute(sql.format("?"), (stamp,)).rowcount
            conn.commit()
            return moved

    def version(self) -> str:
        if self.pg_admin:
            with self.admin() as conn:
                pg = conn.execute("SHOW server_version").fetchone()[0]
            import redis

            info = redis.Redis.from_url(self.redis_url).info("server")
            return f"PostgreSQL {pg}, Redis {info['redis_version']}"
        return f"SQLite {sqlite3.sqlite_version}"


# --- the run -----------------------------------------------------------------------------


class Bench:
    def __init__(self, sizes: Sizes, work: Path, base_env: dict, soak: bool = False) -> None:
        self.sizes = sizes
        self.soak = soak
        self.work = work
        self.procs = Processes(work)
        self.stripe = StripeNowhere().start()
        self.base_env = base_env
        self.sites: list[dict] = []
        #: The database of the end-to-end phase now running (read back for the stages).
        self.db_url = ""

    def env(self, backend: Backend, db_url: str, settings: str = "benchmarks.settings", **extra):
        return backend.env(db_url, settings, **self.base_env, **extra)

    # -- template ---------------------------------------------------------------------
    def template(self, backend: Backend) -> None:
        """Migrate a template database and add the tenants and both webhook endpoints."""
        from .events import SECRET

        started = time.time()
        # A copy of the migrated template of this code version (migrated once, kept).
        url = backend.clone_migrated("tpl")
        env = self.env(backend, url)
        endpoint = run_json(
            [PY, "manage.py", "bento_stripe_endpoint", "--url", "http://127.0.0.1:8000"]
            + ["--local", "--secret", SECRET, "--json"],
            env,
            "bento_stripe_endpoint",
        )
        tenants = run_json(
            [PY, "-m", "benchmarks.fixtures", "--accounts", str(self.sizes.accounts)]
            + ["--base-url", "http://127.0.0.1:8000"],
            env,
            "benchmarks.fixtures",
        )
        self.sites = tenants["sites"]  # the same credentials in every template
        backend.paths = (endpoint["path"], tenants["djstripe_path"])
        log(f"[{backend.key}] template ready in {time.time() - started:.0f} s")

    # -- servers ----------------------------------------------------------------------
    def gunicorn(self, name: str, env: dict) -> tuple[int, subprocess.Popen]:
        port = free_port()
        proc = self.procs.start(
            name,
            [PY, "-m", "gunicorn", "example_project.wsgi:application"]
            + ["-b", f"127.0.0.1:{port}", *GUNICORN],
            env,
        )
        return port, proc

    def load(self, port: int, path: str, events: int, prefix: str, **opts) -> dict:
        argv = [PY, "-m", "benchmarks.load", "--port", str(port), "--path", path]
        argv += ["--events", str(events), "--prefix", prefix]
        argv += ["--accounts", str(opts.get("accounts", ACCOUNTS))]
        argv += ["--threads", str(opts.get("threads", LOAD_THREADS))]
        if opts.get("rate"):
            argv += ["--rate", str(opts["rate"])]
        if opts.get("sent_file"):
            argv += ["--sent-file", str(opts["sent_file"])]
        return run_json(argv, dict(os.environ), "load generator")

    # -- 1. ingest --------------------------------------------------------------------
    def ingest(self, backend: Backend) -> dict:
        """The three views in one server, then our webhook again with persistent connections."""
        our_path, djstripe_path = backend.paths
        url = backend.create("ingest", template="tpl")
        backend.flush_redis()
        results: dict = {}
        runs = {
            "": {
                "bare": ("/bench/bare/", self.sizes.ingest),
                "webhook": (our_path, self.sizes.ingest),
                "djstripe": (djstripe_path, self.sizes.ingest_djstripe),
            },
            # The example project keeps connections (DJANGO_CONN_MAX_AGE=60, the rows above);
            # a host that closes them after each request pays a connect per event.
            "0": {"webhook_no_keep": (our_path, self.sizes.ingest_no_keep)},
        }
        for conn_max_age, targets in runs.items():
            env = self.env(
                backend, url, STRIPE_API_BASE=self.stripe.url, BENCH_CONN_MAX_AGE=conn_max_age
            )
            port, server = self.gunicorn(f"{backend.key}-ingest-gunicorn{conn_max_age}", env)
            try:
                wait_http(f"http://127.0.0.1:{port}/bench/bare/")
                for target, (path, _) in targets.items():  # warm both workers up
                    self.load(port, path, 60, f"warm{target}")
                self.stripe.take()
                for target, (path, count) in targets.items():
                    results[target] = self.load(port, path, count, f"ing{target}")
                    results[target]["stripe_calls"] = self.stripe.take()
                    log(
                        f"[{backend.key}] ingest {target}: {results[target]['rps']:,.0f} req/s, "
                        f"statuses {results[target]['statuses']}"
                    )
            finally:
                self.procs.stop(server)
        return results

    # -- 2. processing ----------------------------------------------------------------
    def processing(self, backend: Backend) -> dict:
        url = backend.create("processing", template="tpl")
        backend.flush_redis()
        env = self.env(backend, url, STRIPE_API_BASE=self.stripe.url)
        results: dict = {"runs": {}, "queries": {}}
        for batch, events in self.sizes.processing.items():
            argv = [PY, "-m", "benchmarks.processing", "--events", str(events)]
            argv += ["--query-events", str(self.sizes.queries[batch]), "--batches", str(batch)]
            argv += ["--accounts", str(ACCOUNTS), "--workers", "1,2"]
            part = run_json(argv, env, "benchmarks.processing")
            results["runs"].update(part["runs"])
            results["queries"].update(part["queries"])
            for key, run in part["runs"].items():
                log(f"[{backend.key}] processing {key}: {run['events_per_second']:,.0f} events/s")
        backend.flush_redis()
        return results

    # -- 5. backfill ------------------------------------------------------------------
    def backfill(self, backend: Backend) -> dict:
        """Objects imported per second (the Stripe stand-in's time left out) and peak
        memory at the small and the large account (``benchmarks.backfill``)."""
        sizes = self.sizes.backfill
        runs = {}
        for charges in sizes:
            url = backend.create(f"backfill{charges}", template="tpl")
            argv = [PY, "-m", "benchmarks.backfill", "--charges", str(charges)]
            runs[str(charges)] = run_json(argv, self.env(backend, url), "benchmarks.backfill")
        small, large = runs[str(sizes[0])], runs[str(sizes[-1])]
        part = {
            "runs": runs,
            "engine": small["engine"],
            "objects_per_second": min(r["objects_per_second"] for r in runs.values()),
            "ceiling_objects_per_second": min(
                r["ceiling"]["objects_per_second"] for r in runs.values()
            ),
            # The worst size's import over the list-reading ceiling, in the same run.
            "import_vs_ceiling": min(r["import_vs_ceiling"] for r in runs.values()),
            "peak_ratio": ratio(large["peak_rss_bytes"], small["peak_rss_bytes"]),
            "growth_ratio": ratio(large["peak_growth_bytes"], small["peak_growth_bytes"]),
        }
        for charges, run in runs.items():
            log(
                f"[{backend.key}] backfill {int(charges):,} charges: import "
                f"{run['wall_objects_per_second']:,.0f} objects/s, reading the lists alone "
                f"{run['ceiling']['objects_per_second']:,.0f} objects/s, "
                f"{run['import_vs_ceiling']:.2f}x of the ceiling ({run['engine']})"
            )
        log(
            f"[{backend.key}] backfill: {part['objects_per_second']:,.0f} objects/s, "
            f"peak memory {sizes[-1]:,} / {sizes[0]:,} charges = {part['peak_ratio']:.2f}x"
        )
        return part

    # -- 3. and 4. end to end ---------------------------------------------------------
    def e2e4(self, backend: Backend) -> dict:
        """The burst and the main steady run again with four processing qclusters instead of
        two: the same Bento requests and no worse latency (nothing decided in one process)."""
        if backend.key != "postgres":
            return {"skipped": "PostgreSQL + Redis only"}
        clusters = tuple((n, {}) for n in range(1, 5)) + ((5, DELIVERY_CLUSTER),)
        return self.e2e(backend, clusters=clusters, runs=self.sizes.steady_runs(backend.key)[:1])

    def e2e_slow(self, backend: Backend) -> dict:
        """A Bento that takes ``BENCH_BENTO_LATENCY`` seconds (0.1) to answer each request, as
        a real one far away does: the 50/s run with one delivery thread, then with four."""
        if backend.key != "postgres":
            return {"skipped": "PostgreSQL + Redis only"}
        latency = float(os.environ.get("BENCH_BENTO_LATENCY", "0.1"))
        run = Steady("steady", self.sizes.steady_rate, self.sizes.steady_seconds)
        out: dict = {"bento_latency_s": latency}
        for width in (1, 4):
            out[f"concurrency{width}"] = self.e2e(
                backend,
                runs=[run],
                burst=False,
                bento_latency=latency,
                extra_env={"BENTO_DELIVERY_CONCURRENCY": str(width)},
            )
        return out

    def e2e(
        self,
        backend: Backend,
        clusters: tuple[tuple[int, dict], ...] | None = None,
        runs: list[Steady] | None = None,
        burst: bool = True,
        bento_latency: float = 0.0,
        extra_env: dict | None = None,
    ) -> dict:
        from tests.bento_server import BentoServer

        clusters = clusters or QCLUSTERS
        runs = self.sizes.steady_runs(backend.key, self.soak) if runs is None else runs
        our_path, _ = backend.paths
        url = backend.create("e2e", template="tpl")
        log(
            f"[{backend.key}] e2e: {backend.defer_schedules(url)} infrequent schedules moved an hour ahead"
        )
        backend.flush_redis()
        bento = BentoServer(
            {s["uuid"]: (s["publishable"], s["secret"]) for s in self.sites}
        ).start()
        bento.latency = bento_latency
        env = self.env(
            backend,
            url,
            settings="example_project.settings",
            DJANGO_DEBUG="0",
            # Plain http to gunicorn, as behind a proxy that ends TLS: no https redirect.
            DJANGO_SECURE_SSL_REDIRECT="0",
            BENTO_API_URL=bento.url,
            BENTO_BACKEND="http",
            STRIPE_API_BASE=self.stripe.url,
            Q_SEPARATE_QUEUES="1",
            **(extra_env or {}),
        )
        started: list[subprocess.Popen] = []
        results: dict = {}
        try:
            # Two processing clusters, as before, and one delivery cluster: a delivery loop
            # never waits behind processing tasks (docs/operations/scaling.rst).
            for n, queue_env in clusters:
                name = f"{backend.key}-qcluster{n}"
                started.append(
                    self.procs.start(name, [PY, "manage.py", "qcluster"], {**env, **queue_env})
                )
            port, server = self.gunicorn(f"{backend.key}-e2e-gunicorn", env)
            started.append(server)
            for n, _ in clusters:
                wait_log(self.procs, f"{backend.key}-qcluster{n}", "running")
            self.db_url = url
            wait_http(f"http://127.0.0.1:{port}/admin/login/")
            self.stripe.take()
            phases: list[tuple[str, Steady | None]] = [("burst", None)] if burst else []
            phases += [(run.name, run) for run in runs]
            for phase, run in phases:
                marks = self.log_marks(backend, clusters)
                with Sampler(lambda: backend.queue_depth(url)) as depth:
                    if run is None:
                        results[phase] = self.burst(bento, port, our_path, backend)
                    else:
                        results[phase] = self.steady(bento, port, our_path, backend, run)
                results[phase]["broker_queue_max"] = depth.max
                results[phase]["tasks"] = self.tasks_since(marks)
                log(f"[{backend.key}] {phase} tasks run: {results[phase]['tasks']}")
            results["stripe_calls"] = self.stripe.take()
        finally:
            stopping = time.monotonic()
            self.procs.stop_many(list(reversed(started)))
            log(
                f"[{backend.key}] stopped the servers and workers in {time.monotonic() - stopping:.1f} s"
            )
            bento.stop()
            backend.flush_redis()
        return results

    def log_marks(self, backend: Backend, clusters: tuple) -> dict[Path, int]:
        paths = [self.work / f"{backend.key}-qcluster{n}.log" for n, _ in clusters]
        return {p: p.stat().st_size for p in paths}

    def tasks_since(self, marks: dict[Path, int]) -> dict[str, int]:
        """Tasks the qcluster processes finished since ``marks``, by function (from their log)."""
        counts: dict[str, int] = {}
        for path, offset in marks.items():
            with open(path, "rb") as f:
                f.seek(offset)
                for line in f.read().decode(errors="replace").splitlines():
                    for verb in ("Processed", "Failed"):
                        if f"{verb} '" in line:
                            func = line.split(f"{verb} '", 1)[1].split("'", 1)[0]
                            key = func.rsplit(".", 1)[-1] + (
                                "" if verb == "Processed" else " (failed)"
                            )
                            counts[key] = counts.get(key, 0) + 1
        return counts

    def arrivals(self, bento, since: int = 0) -> dict[str, float]:
        """Event id → time its first Bento request arrived (accepted requests only)."""
        seen: dict[str, float] = {}
        for request in list(bento.requests)[since:]:
            if request.status != 200 or request.endpoint != "batch/events":
                continue
            for item in request.body["events"]:
                seen.setdefault(item["details"]["stripe_event_id"], request.at)
        return seen

    def wait_delivered(self, bento, ids: set[str], since: int, timeout: float) -> dict:
        deadline = time.time() + timeout
        while True:
            seen = self.arrivals(bento, since)
            if ids <= seen.keys() or time.time() > deadline:
                return seen
            time.sleep(0.2)

    def burst(self, bento, port: int, path: str, backend: Backend) -> dict:
        n = self.sizes.e2e[backend.key]
        sent_file = self.work / f"{backend.key}-burst-sent.json"
        since = len(bento.requests)
        load = self.load(port, path, n, "e2e", sent_file=sent_file)
        sent = json.loads(sent_file.read_text())
        seen = self.wait_delivered(bento, set(sent), since, timeout=max(90.0, n / 20))
        missing = len(set(sent) - seen.keys())
        last = max((seen[i] for i in sent if i in seen), default=time.time())
        seconds = last - load["first_post_at"]
        requests = [r for r in list(bento.requests)[since:]]
        per_site = {
            uuid: bento.max_per_minute(uuid, "batch")
            for uuid in {r.site_uuid for r in requests if r.site_uuid}
        }
        result = {
            "events": n,
            "posted_ok": load["ok"],
            "ingest_rps": load["rps"],
            "seconds": seconds,
            "events_per_second": (n - missing) / seconds if seconds > 0 else 0.0,
            "delivered": n - missing,
            "missing": missing,
            "bento_requests": len(requests),
            "bento_requests_per_1000": 1000 * len(requests) / n,
            "bento_statuses": _count(str(r.status) for r in requests),
            "max_requests_per_minute_per_site": max(per_site.values(), default=0),
            "stages": self.stages("evt_e2e", sent, seen),
        }
        log(
            f"[{backend.key}] e2e burst: {result['events_per_second']:,.0f} events/s "
            f"({n - missing}/{n} delivered in {seconds:.1f} s), "
            f"{result['bento_requests_per_1000']:.1f} Bento requests per 1,000"
        )
        return result

    def stages(self, prefix: str, sent: dict, seen: dict) -> dict:
        """The per-event stage breakdown (``benchmarks.stages``), printed as it is taken."""
        try:
            breakdown = stage_breakdown(self.db_url, prefix, sent, seen)
        except Exception as exc:  # noqa: BLE001 - a number missing, not a run lost
            log(f"stage breakdown failed: {exc}")
            return {}
        log(f"  stages of {breakdown['events']} events ({prefix}):\n{render_stages(breakdown)}")
        return breakdown

    def steady(self, bento, port: int, path: str, backend: Backend, run: Steady) -> dict:
        rate, seconds = run.rate, run.seconds
        n = rate * seconds
        sent_file = self.work / f"{backend.key}-{run.name}-sent.json"
        since = len(bento.requests)
        load = self.load(
            port, path, n, f"lat{run.name}", rate=rate, sent_file=sent_file, accounts=run.accounts
        )
        sent = json.loads(sent_file.read_text())
        seen = self.wait_delivered(bento, set(sent), since, timeout=60.0)
        latencies = [seen[i] - t for i, t in sent.items() if i in seen]
        requests = list(bento.requests)[since:]
        # The first and the last fifth of the run by POST time: does latency grow with it?
        order = sorted(sent, key=sent.get)
        fifth = max(1, len(order) // 5)
        ends = {
            part: [seen[i] - sent[i] for i in ids if i in seen]
            for part, ids in (("first", order[:fifth]), ("last", order[-fifth:]))
        }
        result = {
            "name": run.name,
            "rate": rate,
            "seconds": seconds,
            "accounts": run.accounts,
            "events": n,
            "posted_ok": load["ok"],
            "late_posts": load["late"],
            "delivered": len(latencies),
            "p50_s": percentile(latencies, 50),
            "p99_s": percentile(latencies, 99),
            "max_s": max(latencies, default=0.0),
            "first_fifth_p99_s": percentile(ends["first"], 99),
            "last_fifth_p99_s": percentile(ends["last"], 99),
            "webhook_p50_ms": load["p50_ms"],
            "webhook_p99_ms": load["p99_ms"],
            "bento_requests": len(requests),
            "stages": self.stages(f"evt_lat{run.name}", sent, seen),
        }
        log(
            f"[{backend.key}] {run.name} {run.label}: POST → Bento p50 "
            f"{result['p50_s'] * 1000:.0f} ms, p99 {result['p99_s'] * 1000:.0f} ms "
            f"(first fifth p99 {result['first_fifth_p99_s'] * 1000:.0f} ms, last fifth "
            f"{result['last_fifth_p99_s'] * 1000:.0f} ms), {len(requests)} Bento requests"
        )
        return result


class Sampler:
    """Calls ``probe`` every half second in a thread while the block runs; keeps the maximum."""

    def __init__(self, probe) -> None:
        self.probe, self.max = probe, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        while not self.done.wait(0.5):
            with contextlib.suppress(Exception):
                self.max = max(self.max, self.probe())

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


# --- report ------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(results: dict) -> tuple[list[tuple], list[dict]]:
    """Table rows (metric, SQLite, PostgreSQL+Redis, target, verdict) and the targets checked."""
    rows: list[tuple] = []
    targets: list[dict] = []

    def get(key: str, *path):
        value = results.get(key)
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def row(label, *path, fmt="{:,.0f}", target=None, check=None, scale=1.0):
        values = [get(k, *path) for k in ("sqlite", "postgres")]
        values = [v * scale if isinstance(v, int | float) else v for v in values]
        cells = [fmt.format(v) if isinstance(v, int | float) else "-" for v in values]
        verdict = ""
        if check is not None:
            verdicts = [check(k, v) for k, v in zip(("sqlite", "postgres"), values, strict=True)]
            verdict = " / ".join(v for v in verdicts if v)
            targets.append(
                {"metric": label, "target": target, "sqlite": values[0], "postgres": values[1]}
                | {"verdict": verdict}
            )
        rows.append((label, *cells, target or "", verdict))

    def at_least(limit, only=None):
        return lambda k, v: _verdict(k, v, v is not None and v >= limit, only)

    def at_most(limit, only=None):
        return lambda k, v: _verdict(k, v, v is not None and v <= limit, only)

    def below(limit, only=None):
        return lambda k, v: _verdict(k, v, v is not None and v < limit, only)

    for key in ("sqlite", "postgres"):
        ing = results.get(key, {}).get("ingest")
        if ing:
            ing["webhook_over_bare"] = ratio(ing["webhook"]["rps"], ing["bare"]["rps"])
            ing["webhook_over_djstripe"] = ratio(ing["webhook"]["rps"], ing["djstripe"]["rps"])
    rows.append(("INGEST (gunicorn, 2 workers, DEBUG off, keep-alive)",))
    row("bare Django view, requests/s", "ingest", "bare", "rps")
    row("our webhook, requests/s", "ingest", "webhook", "rps")
    row("dj-stripe stock view, requests/s", "ingest", "djstripe", "rps")
    row("our webhook, CONN_MAX_AGE=0, requests/s", "ingest", "webhook_no_keep", "rps")
    row("bare view p50 / p99, ms", "ingest", "bare", "p50_ms", fmt="{:.1f}")
    rows[-1] = _pair(rows[-1], results, ("ingest", "bare"))
    row("our webhook p50 / p99, ms", "ingest", "webhook", "p50_ms", fmt="{:.1f}")
    rows[-1] = _pair(rows[-1], results, ("ingest", "webhook"))
    row("dj-stripe stock p50 / p99, ms", "ingest", "djstripe", "p50_ms", fmt="{:.1f}")
    rows[-1] = _pair(rows[-1], results, ("ingest", "djstripe"))
    row("our webhook, CONN_MAX_AGE=0, p50 / p99", "ingest", "webhook_no_keep", "p50_ms")
    rows[-1] = _pair(rows[-1], results, ("ingest", "webhook_no_keep"))
    row(
        "webhook / bare",
        "ingest",
        "webhook_over_bare",
        fmt="{:.2f}x",
        target=">= 0.5x",
        check=at_least(0.5),
    )
    row(
        "ours / dj-stripe stock",
        "ingest",
        "webhook_over_djstripe",
        fmt="{:.1f}x",
        target=">= 5x",
        check=at_least(5),
    )
    rows.append(("PROCESSING (separate worker processes, events/s)",))
    for batch in (1, 10, 100):
        for workers in (1, 2):
            row(
                f"batch {batch}, {workers} worker{'s' if workers > 1 else ''}",
                "processing",
                "runs",
                f"batch{batch}_workers{workers}",
                "events_per_second",
            )
    for batch in (1, 10, 100):
        row(
            f"SQL queries per event, batch {batch}",
            "processing",
            "queries",
            f"batch{batch}",
            "per_event",
            fmt="{:.2f}",
            target="<= 5 at batch 100" if batch == 100 else None,
            check=at_most(5) if batch == 100 else None,
        )
    rows.append(("END TO END (gunicorn + 2 qcluster, 20 sites, burst)",))
    row("events posted in the burst", "e2e", "burst", "events")
    row(
        "events/s, first POST → Bento has all",
        "e2e",
        "burst",
        "events_per_second",
        target=">= 500 (PG+Redis)",
        check=at_least(500, only="postgres"),
    )
    row("webhook requests/s during the burst", "e2e", "burst", "ingest_rps")
    row("most tasks waiting in the broker", "e2e", "burst", "broker_queue_max")
    row(
        "Bento requests per 1,000 events",
        "e2e",
        "burst",
        "bento_requests_per_1000",
        fmt="{:.1f}",
        target="<= 10",
        check=at_most(10),
    )
    row(
        "max requests/minute per site",
        "e2e",
        "burst",
        "max_requests_per_minute_per_site",
        target="<= 100",
        check=at_most(100),
    )
    rows.append(("BACKFILL (Stripe list stand-in in its own process, its time left out)",))
    row(
        "objects imported/s",
        "backfill",
        "objects_per_second",
        target=">= 1,000 (PG)",
        check=at_least(1000, only="postgres"),
    )
    row("reading the lists alone (ceiling), objects/s", "backfill", "ceiling_objects_per_second")
    row(
        "import / ceiling (wall clock, same run)",
        "backfill",
        "import_vs_ceiling",
        fmt="{:.2f}x",
        target=">= 0.5x",
        check=at_least(0.5),
    )
    row(
        "peak RSS, 100k / 10k charges",
        "backfill",
        "peak_ratio",
        fmt="{:.2f}x",
        target="< 1.3x",
        check=below(1.3),
    )
    row("RSS growth during the run, 100k / 10k", "backfill", "growth_ratio", fmt="{:.2f}x")
    rows.append(("LATENCY (steady streams, POST → Bento request, ms)",))
    for name in _steady_names(results):
        pg, lite = get("postgres", "e2e", name) or {}, get("sqlite", "e2e", name) or {}
        run = pg or lite
        seconds = f"{run.get('seconds')} s"
        if pg and lite and lite.get("seconds") != pg.get("seconds"):
            seconds += f" (SQLite {lite.get('seconds')} s)"
        what = f"{run.get('rate')}/s, {seconds}, {run.get('accounts', 20)} sites"
        limit = 5000 if run.get("rate", 0) > 50 else 2000
        row(
            f"{what}: p50",
            "e2e",
            name,
            "p50_s",
            scale=1000,
            target=None if limit > 2000 else "< 1000 (PG+Redis)",
            check=None if limit > 2000 else below(1000, only="postgres"),
        )
        row(
            f"{what}: p99",
            "e2e",
            name,
            "p99_s",
            scale=1000,
            target=f"< {limit} (PG+Redis)",
            check=below(limit, only="postgres"),
        )
        row(f"{what}: p99 first / last fifth", "e2e", name, "first_fifth_p99_s", scale=1000)
        rows[-1] = _fifths(rows[-1], results, name)
    slow = get("postgres", "e2e_slow") or {}
    one, four = (slow.get(f"concurrency{w}", {}).get("steady") for w in (1, 4))
    if one and four:
        ms = slow["bento_latency_s"] * 1000
        rows.append((f"BENTO ANSWERING IN {ms:.0f} MS (50/s, PostgreSQL + Redis)",))
        for what, key in (("p50", "p50_s"), ("p99", "p99_s")):
            rows.append(
                (
                    f"{what} ms, 1 / 4 delivery threads",
                    "-",
                    f"{one[key] * 1000:.0f} / {four[key] * 1000:.0f}",
                    "",
                    "",
                )
            )
    if get("postgres", "e2e4", "burst"):
        rows.append(("FOUR PROCESSING QCLUSTERS instead of two (PostgreSQL + Redis)",))
        for key in ("bento_requests_per_1000",):
            two, four = get("postgres", "e2e", "burst", key), get("postgres", "e2e4", "burst", key)
            rows.append(
                (
                    "Bento requests per 1,000, two / four",
                    "-",
                    f"{two:.1f} / {four:.1f}",
                    "four <= two",
                    "ok (PG)" if four <= two else "MISSED (PG)",
                )
            )
        two, four = (
            get("postgres", "e2e", "steady", "p99_s"),
            get("postgres", "e2e4", "steady", "p99_s"),
        )
        if two is not None and four is not None:
            rows.append(
                (
                    "steady p99 ms, two / four",
                    "-",
                    f"{two * 1000:.0f} / {four * 1000:.0f}",
                    "four not worse",
                    "ok (PG)" if four <= two * 1.1 else "MISSED (PG)",
                )
            )
    return rows, targets


def _steady_names(results: dict) -> list[str]:
    """The steady runs in the results, the main one first."""
    names: list[str] = []
    for key in ("sqlite", "postgres"):
        for name, part in ((results.get(key) or {}).get("e2e") or {}).items():
            if isinstance(part, dict) and "p99_s" in part and name not in names:
                names.append(name)
    return sorted(names, key=lambda n: (n != "steady", n))


def _fifths(row: tuple, results: dict, name: str) -> tuple:
    cells = []
    for key in ("sqlite", "postgres"):
        part = ((results.get(key) or {}).get("e2e") or {}).get(name) or {}
        if "first_fifth_p99_s" in part:
            cells.append(
                f"{part['first_fifth_p99_s'] * 1000:.0f} / {part['last_fifth_p99_s'] * 1000:.0f}"
            )
        else:
            cells.append("-")
    return (row[0], *cells, *row[3:])


def _verdict(key: str, value, ok: bool, only: str | None) -> str:
    if only and key != only:
        return ""
    if value is None:
        return ""
    return f"{'ok' if ok else 'MISSED'} ({'PG' if key == 'postgres' else 'SQLite'})"


def _pair(row: tuple, results: dict, path: tuple) -> tuple:
    cells = []
    for key in ("sqlite", "postgres"):
        part = results.get(key, {})
        for p in path:
            part = part.get(p, {}) if isinstance(part, dict) else {}
        cells.append(f"{part['p50_ms']:.1f} / {part['p99_ms']:.1f}" if part else "-")
    return (row[0], *cells, *row[3:])


def render(rows: list[tuple]) -> str:
    widths = (40, 16, 18, 20)
    head = ("metric", "SQLite", "PostgreSQL+Redis", "target", "")
    lines = [_line(head, widths), "-" * 110]
    for r in rows:
        if len(r) == 1:
            lines.append(f"\n{r[0]}")
        else:
            lines.append(_line(r, widths))
    return "\n".join(lines)


def _line(cells: tuple, widths: tuple) -> str:
    label, *rest = cells
    out = f"{label:<{widths[0]}}"
    for cell, width in zip(rest, widths[1:], strict=False):
        out += f" {cell:>{width}}"
    if len(rest) > len(widths) - 1:
        out += "   " + " ".join(rest[len(widths) - 1 :])
    return out


def notes(results: dict) -> list[str]:
    out = []
    for key, label in (("sqlite", "SQLite"), ("postgres", "PostgreSQL+Redis")):
        dj = results.get(key, {}).get("ingest", {}).get("djstripe")
        if dj:
            calls = sum(dj["stripe_calls"].values())
            out.append(
                f"dj-stripe stock ({label}): statuses {dj['statuses']}; it called the Stripe API "
                f"{calls} times for {dj['requests']} events ({calls / dj['requests']:.1f} per "
                f"event: {', '.join(sorted(dj['stripe_calls']))}); the stand-in refused each at "
                "once (404), so each event was stored as a failed WebhookEventTrigger and "
                "answered 500. Against real Stripe every one of those calls is a network round "
                "trip, so this rate is an upper bound."
            )
        e2e = results.get(key, {}).get("e2e")
        for name in _steady_names(results):
            steady = (e2e or {}).get(name)
            if not steady:
                continue
            if (steady["late_posts"] or 0) > steady["events"] / 20:
                out.append(
                    f"{label} {name}: the server could not take {steady['rate']} events/s; "
                    f"{steady['late_posts']} of {steady['events']} POSTs left more than 50 ms "
                    f"late (webhook p50 {steady['webhook_p50_ms']:.0f} ms with 4 connections)."
                )
            if steady["delivered"] < steady["events"]:
                out.append(
                    f"{label} {name}: only {steady['delivered']} of {steady['events']} events "
                    f"reached Bento ({steady['posted_ok']} POSTs accepted); its latencies are "
                    "of those alone."
                )
        if e2e and e2e.get("burst"):
            b = e2e["burst"]
            if b["missing"]:
                out.append(f"{label} e2e: {b['missing']} events never reached Bento in time.")
            if e2e.get("stripe_calls"):
                out.append(f"{label} e2e: Stripe API calls {e2e['stripe_calls']}.")
    return out


def machine(backends: list[Backend]) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import django

    try:
        gunicorn_version = version("gunicorn")
    except PackageNotFoundError:  # --phases backfill runs without the bench extra
        gunicorn_version = "not installed"

    info = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other work on the machine skews every number: the load average when the run ended.
        "load_average": os.getloadavg(),
        "django": django.get_version(),
        "gunicorn": gunicorn_version,
    }
    for b in backends:
        with contextlib.suppress(Exception):
            info[b.key] = b.version()
    return info


def print_report(results: dict) -> None:
    """Print the table and notes; (re)compute the targets and notes into ``results``."""
    rows, targets = report(results)
    results["targets"] = targets
    results["notes"] = notes(results)
    print(render(rows))
    for key in ("sqlite", "postgres"):
        for phase in ["burst", *_steady_names(results)]:
            breakdown = (results.get(key, {}).get("e2e") or {}).get(phase, {}).get("stages")
            if breakdown:
                print(f"\nstages, {key} {phase} ({breakdown['events']} events):")
                print(render_stages(breakdown))
    print()
    for line in results["notes"]:
        print(f"- {line}")
    m = results["machine"]
    print(
        f"\n{m['cores']} cores, Python {m['python']}, Django {m['django']}, "
        f"{m.get('sqlite', '')}; {m.get('postgres', '')}; {results['mode']} run in "
        f"{results['seconds']:.0f} s; load average at the end {m['load_average']}"
    )


# --- main --------------------------------------------------------------------------------


def start_redis(work: Path) -> tuple[str, subprocess.Popen | None]:
    """A redis-server on a free port (``redis://127.0.0.1:<port>/0``), or db 14 of the
    local server when no redis-server binary is installed."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        return "redis://127.0.0.1:6379/14", None
    port = free_port()
    out = open(work / "redis.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out.close()
    deadline = time.time() + 20
    while "Ready to accept connections" not in (work / "redis.log").read_text(errors="replace"):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.1)
    return f"redis://127.0.0.1:{port}/0", proc


def available(pg_admin: str, redis_url: str) -> str:
    """Why PostgreSQL + Redis cannot be used, or ""."""
    try:
        import psycopg

        with psycopg.connect(pg_admin, connect_timeout=3):
            pass
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any reason is reported, the column is skipped
        return f"{type(exc).__name__}: {exc}"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--phases",
        default=None,
        help="comma-separated: ingest, processing, e2e, e2e4, e2e_slow, backfill (e.g. --phases"
        " backfill); default all but e2e_slow (a Bento answering in 100 ms, one delivery thread"
        " against four), e2e4 (four processing qclusters) in the full run only",
    )
    parser.add_argument(
        "--soak",
        action="store_true",
        default=bool(os.environ.get("BENCH_SOAK")),
        help="add the 10-minute steady run at 50 events/s (PostgreSQL + Redis)",
    )
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument(
        "--report", metavar="JSON", help="print an earlier run's table (its notes recomputed)"
    )
    args = parser.parse_args(argv)
    if args.report:
        path = Path(args.report)
        results = json.loads(path.read_text())
        print_report(results)
        path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        return 0
    sizes = QUICK if args.quick else FULL
    if args.phases is None:
        args.phases = (
            "ingest,processing,e2e,backfill"
            if args.quick
            else ("ingest,processing,e2e,e2e4,backfill")
        )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from cryptography.fernet import Fernet

    base_env = {
        "BENTO_STRIPE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DJANGO_SECRET_KEY": "benchmark-" + Fernet.generate_key().decode(),
        "PYTHONPATH": str(ROOT),
        "Q_WORKERS": os.environ.get("BENCH_Q_WORKERS", "2"),
    }
    pg_admin = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    work = Path(tempfile.mkdtemp(prefix="bento-bench-"))
    own_redis: subprocess.Popen | None = None
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    if not redis_url and args.only != "sqlite":
        # A redis-server of its own on a free port: flushing it between phases touches
        # nobody else's data.
        redis_url, own_redis = start_redis(work)
    backends = []
    if args.only != "postgres":
        backends.append(Backend("sqlite", "SQLite (file, WAL) + ORM broker", work))
    if args.only != "sqlite":
        why = available(pg_admin, redis_url)
        if why:
            log(f"PostgreSQL + Redis skipped: {why}")
        else:
            backends.append(
                Backend(
                    "postgres",
                    "PostgreSQL + Redis broker",
                    work,
                    redis_url=redis_url,
                    pg_admin=pg_admin,
                )
            )
    bench = Bench(sizes, work, base_env, soak=args.soak)
    results: dict = {
        "mode": ("quick" if args.quick else "full") + (" + soak" if args.soak else ""),
        "sizes": asdict(sizes) | {"accounts": ACCOUNTS, "load_threads": LOAD_THREADS},
        "gunicorn": GUNICORN,
    }
    started = time.time()
    log(f"bento-stripe benchmark ({results['mode']}), logs in {work}")
    try:
        errors: list[BaseException] = []

        def build(b: Backend) -> None:
            try:
                bench.template(b)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        builders = [threading.Thread(target=build, args=(b,)) for b in backends]
        for t in builders:
            t.start()
        for t in builders:
            t.join()
        if errors:
            raise errors[0]
        for b in backends:
            part: dict = {"label": b.label}
            results[b.key] = part
            for phase in args.phases.split(","):
                part.setdefault("load_average", {})[phase] = os.getloadavg()
                phase_started = time.time()
                try:
                    part[phase] = getattr(bench, phase)(b)
                except Exception as exc:  # noqa: BLE001 - report it, go on with the next phase
                    log(f"[{b.key}] {phase} failed: {exc}")
                    part[f"{phase}_error"] = str(exc)
                part.setdefault("phase_seconds", {})[phase] = time.time() - phase_started
        results["machine"] = machine(backends)
        results["seconds"] = time.time() - started
        print_report(results)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"written to {args.out}")
    finally:
        bench.procs.stop_all()
        bench.stripe.stop()
        if own_redis is not None:
            own_redis.terminate()
            own_redis.wait(timeout=10)
        for b in backends:
            b.drop_all()
    for db in work.glob("*.sqlite3*"):
        db.unlink()
    log(f"logs of the servers and workers: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

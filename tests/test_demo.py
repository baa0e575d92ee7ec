"""`make demo`'s entry point migrates, seeds twice without harm, and serves the admin."""

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 300.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"demo exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout}s")


@contextlib.contextmanager
def running_demo(database: Path):
    """``make demo``'s entry point on ``database``, without the worker: yields (base URL, output).

    ``output`` (a list) receives everything the demo printed once it has stopped.
    """
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
    }
    for name in ("REDIS_URL", "STRIPE_API_BASE", "STRIPE_CONNECT_BASE"):
        env.pop(name, None)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "example_project.demo", "--port", str(port), "--no-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(f"{base}/admin/login/", proc) == 200
        yield base, output
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        output.append(out)


@pytest.mark.slow
def test_demo_serves_admin_login_and_can_run_twice(demo_database):
    for _ in range(2):
        with running_demo(demo_database) as (_base, output):
            pass
        assert "admin / admin" in output[0]
    db = sqlite3.connect(demo_database)
    assert db.execute("select count(*) from bento_stripe_team").fetchone()[0] == 1
    assert db.execute("select count(*) from bento_stripe_site").fetchone()[0] == 2
    assert db.execute("select count(*) from auth_user where is_superuser").fetchone()[0] == 1

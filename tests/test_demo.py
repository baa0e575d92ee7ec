"""`make demo`'s entry point migrates, seeds twice without harm, and serves the admin."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

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


@pytest.mark.slow
def test_demo_serves_admin_login_and_can_run_twice(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
    }
    env.pop("REDIS_URL", None)
    for _ in range(2):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "example_project.demo", "--port", str(port), "--no-worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert wait_for(f"http://127.0.0.1:{port}/admin/login/", proc) == 200
        finally:
            proc.send_signal(2)
            out, _ = proc.communicate(timeout=30)
        assert "admin / admin" in out
    import sqlite3

    db = sqlite3.connect(tmp_path / "demo.sqlite3")
    assert db.execute("select count(*) from bento_stripe_team").fetchone()[0] == 1
    assert db.execute("select count(*) from bento_stripe_site").fetchone()[0] == 2
    assert db.execute("select count(*) from auth_user where is_superuser").fetchone()[0] == 1

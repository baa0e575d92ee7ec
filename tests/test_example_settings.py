"""The example project in production mode (DJANGO_DEBUG=0): refuses to start unconfigured,
and ``check --deploy`` warns only about what the docs explain."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "BENTO_", "STRIPE_")) and k != "DATABASE_URL"
    }
    base["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    base["DATABASE_URL"] = "sqlite:///:memory:"
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def production(**extra: str) -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "BENTO_STRIPE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **extra,
    }


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY is not set"),
        ("BENTO_STRIPE_ENCRYPTION_KEYS", "BENTO_STRIPE_ENCRYPTION_KEYS is not set"),
    ],
)
def test_production_refuses_to_start_without_its_keys(missing, named):
    env = production()
    del env[missing]
    result = manage("check", **env)
    assert result.returncode != 0
    assert named in result.stderr


def test_check_deploy_warns_only_about_what_the_readme_explains():
    result = manage("check", "--deploy", **production())
    assert result.returncode == 0, result.stderr
    warnings = set(re.findall(r"\(([\w.]+\.[WE]\d+)\)", result.stdout + result.stderr))
    docs = (ROOT / "docs" / "reference" / "example-project.rst").read_text()
    unexplained = {w for w in warnings if f"``{w}``" not in docs}
    assert not unexplained, result.stdout + result.stderr
    assert warnings <= {"security.W004"}  # HSTS is the operator's decision (the docs)


def test_check_deploy_is_clean_once_hsts_is_chosen():
    hsts = {
        "DJANGO_SECURE_HSTS_SECONDS": "3600",
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "DJANGO_SECURE_HSTS_PRELOAD": "1",
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production(**hsts))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_development_defaults_still_start():
    result = manage("check")
    assert result.returncode == 0, result.stderr


def test_the_stripe_app_settings_come_from_the_environment():
    link = "https://marketplace.stripe.com/oauth/v2/authorize?client_id=ca_EnvApp"
    test_link = "https://marketplace.stripe.com/oauth/v2/chnlink_E/authorize?client_id=ca_EnvApp"
    script = (
        "from bento_stripe.conf import app_settings as s; "
        "print(s.STRIPE_INSTALL_KIND, s.STRIPE_APP_INSTALL_URL, s.STRIPE_APP_TEST_INSTALL_URL, "
        "s.STRIPE_TEST_SECRET_KEY)"
    )
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        script,
        STRIPE_INSTALL_KIND="app",
        STRIPE_APP_INSTALL_URL=link,
        STRIPE_APP_TEST_INSTALL_URL=test_link,
        STRIPE_SECRET_KEY="sk_live_env_owner",
        STRIPE_TEST_SECRET_KEY="sk_test_env_owner",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["app", link, test_link, "sk_test_env_owner"]
    defaults = manage("shell", "-v", "0", "-c", script)
    assert defaults.stdout.split() == ["connect"]


def test_metrics_are_switched_on_from_the_environment():
    script = (
        "from bento_stripe.conf import app_settings as s; "
        "print(s.METRICS_ENABLED, ','.join(s.METRICS_ALLOWED_IPS) or '-')"
    )
    on = manage(
        "shell",
        "-v",
        "0",
        "-c",
        script,
        BENTO_STRIPE_METRICS_ENABLED="1",
        BENTO_STRIPE_METRICS_ALLOWED_IPS="10.0.0.0/8, 192.0.2.7",
    )
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["True", "10.0.0.0/8,192.0.2.7"]
    assert manage("shell", "-v", "0", "-c", script).stdout.split() == ["False", "-"]

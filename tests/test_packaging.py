"""The package as a stranger gets it: built, checked, installed into a fresh project, served.

Builds the sdist and the wheel (``python -m build``), checks them with ``twine check``,
installs the wheel into a fresh virtualenv (its dependencies come from the package
index), makes a project with ``django-admin startproject``, adds the app the way
README.rst says, runs ``migrate`` and ``check``, serves it with ``runserver`` and asks
for the Stripe app page and the webhook endpoint over HTTP. Everything happens in a
temporary directory. Marked ``packaging`` (minutes, and the package index):
``tests/run_lanes.py`` runs it in its own lane, ``PACKAGING_TESTS=1`` turns it on.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import requests
import stripe
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.packaging

#: Apps README.rst ("Installing into an existing project") must tell a project to add.
REQUIRED_APPS = {"rest_framework", "knox", "django_q", "djstripe", "bento_stripe"}


def readme_apps(readme: str) -> list[str]:
    """The apps README.rst's ``INSTALLED_APPS = [...]`` block lists, in its order."""
    block = readme.split("    INSTALLED_APPS = [\n", 1)[1].split("\n    ]", 1)[0]
    return re.findall(r'^\s+"([a-z_.]+)",', block, flags=re.M)


SECRET = "whsec_packaging_test_secret_0123456789"


def _run(*args, cwd: Path | None = None, env: dict | None = None, timeout: int = 900) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def readme_fernet_command(readme: str) -> list[str]:
    """README's one-liner that makes a Fernet key, as argv (``python`` first)."""
    line = next(
        line.strip()
        for line in readme.splitlines()
        if line.strip().startswith("python -c") and "Fernet.generate_key()" in line
    )
    return shlex.split(line)


def _add_app_as_readme_says(project: Path, python: Path) -> None:
    """The README's steps, applied to a new project's settings.py and urls.py (the Fernet key
    made by README's own command, in the new venv)."""
    readme = (ROOT / "README.rst").read_text()
    argv = readme_fernet_command(readme)
    key = _run(python, *argv[1:]).strip()
    Fernet(key.encode())  # a valid key, or this raises
    apps = readme_apps(readme)
    assert REQUIRED_APPS <= set(apps), (
        f"README.rst's INSTALLED_APPS lacks {REQUIRED_APPS - set(apps)}"
    )
    assert 'path("", include("bento_stripe.urls"))' in readme
    assert 'path("api/", include("bento_stripe.api.urls"))' in readme
    settings = project / "mysite" / "settings.py"
    text = settings.read_text()
    text = text.replace(
        "INSTALLED_APPS = [\n",
        "INSTALLED_APPS = [\n" + "".join(f'    "{app}",\n' for app in apps),
        1,
    )
    after = readme.split(".. _minimal-settings:")[1].split(".. code-block:: python\n")[1]
    lines = []
    for line in after.splitlines():
        if line and not line.startswith("    "):
            break  # the first line back at the margin ends the code block
        lines.append(line[4:])
    code = "\n".join(lines).strip()
    assert "BENTO_STRIPE = {" in code and "Q_CLUSTER" in code
    text += "\n" + code.replace("<Fernet key>", key) + "\n"
    settings.write_text(text)
    urls = project / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from django.urls import path", "from django.urls import include, path")
        .replace(
            "    path('admin/', admin.site.urls),",
            "    path('admin/', admin.site.urls),\n    path('api/', include('bento_stripe.api.urls')),"
            "\n    path('', include('bento_stripe.urls')),",
        )
        .replace(
            '    path("admin/", admin.site.urls),',
            '    path("admin/", admin.site.urls),\n    path("api/", include("bento_stripe.api.urls")),'
            '\n    path("", include("bento_stripe.urls")),',
        )
    )
    assert "bento_stripe.urls" in urls.read_text()


def _python_for_django_61() -> str | None:
    """A Python >= 3.12 for the Django 6.1 install (DJANGO_PYTHON, else python3.13/3.12, else
    pyenv's), or None."""
    candidates = [os.environ.get("DJANGO_PYTHON", ""), "python3.13", "python3.12"]
    candidates += sorted(glob.glob("/root/.pyenv/versions/3.1[23]*/bin/python"), reverse=True)
    for candidate in filter(None, candidates):
        found = shutil.which(candidate) or (candidate if os.path.exists(candidate) else None)
        if not found:
            continue
        check = subprocess.run(
            [found, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
            capture_output=True,
            check=False,
        )
        if check.returncode == 0:
            return found
    return None


#: Where the wheels of the fresh venvs' dependencies are kept between runs (per Python and
#: Django), so a later run installs them without resolving every package at the index again.
WHEELHOUSE = Path(
    os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "bento-stripe", "wheels"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and the wheel, built and checked once for the module: (wheel, sdist)."""
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=dist)
    (wheel,) = dist.glob("bento_stripe-*.whl")
    (sdist,) = dist.glob("bento_stripe-*.tar.gz")
    _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    return wheel, sdist


def test_wheel_and_sdist_carry_the_licence_types_and_data(built):
    wheel, sdist = built
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bento_stripe/py.typed" in names
    licences = [n for n in names if n.endswith("LICENSE") and ".dist-info/" in n]
    assert licences, sorted(n for n in names if ".dist-info/" in n)
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    for line in (
        "License: MIT",
        "Classifier: License :: OSI Approved :: MIT License",
        "Classifier: Framework :: Django :: 6.1",
        "Classifier: Programming Language :: Python :: 3.13",
        "Classifier: Typing :: Typed",
        "Requires-Dist: Django<6.2,>=5.2",
        "Requires-Dist: stripe<16,>=15.0.1",
        "Project-URL: Documentation, ",
        "Keywords: django,stripe,bento",
    ):
        assert line in metadata, line
    sdist_names = tarfile.open(sdist).getnames()
    assert any(n.endswith("/LICENSE") for n in sdist_names)
    assert any(n.endswith("/bento_stripe/py.typed") for n in sdist_names)


@pytest.mark.parametrize("django", ["5.2", "6.1"])
def test_wheel_installs_into_a_new_project_and_serves(tmp_path, built, django):
    # 1. The built and checked artefacts (the fixture); a Python that the Django needs.
    wheel, sdist = built
    python_for_venv = sys.executable
    if django == "6.1":
        python_for_venv = _python_for_django_61()
        if python_for_venv is None:
            pytest.skip("Django 6.1 needs Python >= 3.12: none found (set DJANGO_PYTHON)")
    names = set(zipfile.ZipFile(wheel).namelist())
    for wanted in (
        "bento_stripe/templates/bento_stripe/stripe_app.html",
        "bento_stripe/templates/bento_stripe/admin/stripeaccount_change_form.html",
        "bento_stripe/static/bento_stripe/bento_stripe.css",
        "bento_stripe/migrations/0001_initial.py",
        "bento_stripe/migrations/0002_site_team_guard.py",
    ):
        assert wanted in names, f"{wanted} is missing from the wheel"
    assert not any(n.startswith(("tests/", "example_project/")) for n in names)
    del sdist  # its contents: test_wheel_and_sdist_carry_the_licence_types_and_data
    sdist_names = tarfile.open(built[1]).getnames()
    assert any(n.endswith("/CHANGELOG.rst") for n in sdist_names)
    assert any(n.endswith("/README.rst") for n in sdist_names)

    # 2. A fresh virtualenv with the wheel and the extras README installs (dependencies from
    #    the package index, through a wheelhouse kept between runs).
    venv = tmp_path / "venv"
    _run(python_for_venv, "-m", "venv", venv)
    python = venv / "bin" / "python"
    wheels = WHEELHOUSE / f"packaging-{django}"
    wheels.mkdir(parents=True, exist_ok=True)
    want = [f"{wheel}[postgres,redis]", f"Django=={django}.*"]
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    offline = [*pip, "install", "--quiet", "--no-index", "--find-links", wheels, *want]
    # From the wheelhouse alone when it has everything (no round trip to the index per
    # dependency); else fill it from the index first.
    if subprocess.run(offline, capture_output=True, check=False).returncode != 0:
        _run(*pip, "wheel", "--quiet", "--wheel-dir", wheels, "--find-links", wheels, *want)
        for own in wheels.glob("bento_stripe-*.whl"):
            own.unlink()  # the wheel under test comes from this build, never the cache
        _run(*offline)
    installed = _run(python, "-c", "import django; print(django.get_version())")
    assert installed.startswith(django + "."), installed

    # 3. A new project, the app added as README.rst says.
    project = tmp_path / "project"
    project.mkdir()
    _run(venv / "bin" / "django-admin", "startproject", "mysite", project)
    _add_app_as_readme_says(project, python)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env["PYTHONPATH"] = ""  # the installed wheel, never this checkout
    manage = [python, project / "manage.py"]
    # Migrating from empty replays dj-stripe's history: minutes of CPU on SQLite, past 15 on
    # a 2-core machine shared with other work (load 12), so the bound is generous.
    _run(*manage, "migrate", "--no-input", cwd=project, env=env, timeout=2400)
    checked = _run(*manage, "check", cwd=project, env=env)
    assert "no issues" in checked
    where = _run(
        python, "-c", "import bento_stripe, sys; print(bento_stripe.__file__)", cwd=tmp_path
    )
    assert str(venv) in where
    _run(
        *manage,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_superuser('admin', 'admin@example.com', 'pw-1234-x')",
        cwd=project,
        env=env,
    )
    endpoint = json.loads(
        _run(
            *manage,
            "bento_stripe_endpoint",
            "--url",
            "http://127.0.0.1",
            "--local",
            "--secret",
            SECRET,
            "--json",
            cwd=project,
            env=env,
        )
    )

    # 4. Served by runserver: the Stripe app page (signed in) and the webhook endpoint.
    port = _free_port()
    server = subprocess.Popen(
        [*map(str, manage), "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(base + "/admin/login/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        session = requests.Session()
        login_page = session.get(base + "/admin/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
        assert token, login_page.text[:500]
        signed_in = session.post(
            base + "/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": "admin",
                "password": "pw-1234-x",
            },
            timeout=10,
        )
        assert signed_in.status_code == 200 and "/admin/logout/" in signed_in.text
        page = session.get(base + "/account/apps/stripe/", timeout=10)
        assert page.status_code == 200
        assert 'id="install-stripe-app"' in page.text  # the wheel's template
        css = re.search(r'href="([^"]*bento_stripe/bento_stripe\.css)"', page.text)
        assert css, page.text[:500]
        stylesheet = session.get(base + css.group(1), timeout=10)
        assert stylesheet.status_code == 200 and stylesheet.text.strip()  # the wheel's static
        teams = session.get(base + "/account/teams/", timeout=10)
        assert teams.status_code == 200
        # The REST API mounted as README says: its schema, and its docs' local static files.
        schema = session.get(base + "/api/schema/?format=json", timeout=30)
        assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
        docs = session.get(base + "/api/docs/", timeout=10)
        assert docs.status_code == 200
        sidecar = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', docs.text)
        assert sidecar, docs.text[:500]
        assert session.get(base + sidecar.group(1), timeout=10).status_code == 200

        event = {
            "id": "evt_packaging_0001",
            "object": "event",
            "type": "customer.created",
            "account": "acct_1PackagingShop01",
            "livemode": False,
            "created": int(time.time()),
            "api_version": "2024-06-20",
            "data": {"object": {"id": "cus_Packaging01", "object": "customer"}},
        }
        body = json.dumps(event)
        stamp = int(time.time())
        signature = stripe.WebhookSignature._compute_signature(f"{stamp}.{body}", SECRET)
        url = base + endpoint["path"]
        unsigned = requests.post(
            url, data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        assert unsigned.status_code == 400
        signed = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": f"t={stamp},v1={signature}",
            },
            timeout=10,
        )
        assert signed.status_code == 200, signed.text[:500]
        unknown = requests.post(
            base + "/stripe/webhook/00000000-0000-4000-8000-000000000000/",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": f"t={stamp},v1={signature}",
            },
            timeout=10,
        )
        assert unknown.status_code == 404
    finally:
        server.terminate()
        try:
            server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()

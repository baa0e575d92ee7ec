"""The docs follow the code: the generated references list exactly what the code has, the
README stays short and each command in it is run somewhere, the install steps are one text.

``make docs`` (CI) builds the site with ``-W``; these tests hold what a build cannot see.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

from django.core import checks

from bento_stripe import conf

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.rst").read_text()


def _extension():
    spec = importlib.util.spec_from_file_location(
        "bento_stripe_docs", DOCS / "_ext" / "bento_stripe_docs.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bento_stripe_docs", module)
    spec.loader.exec_module(module)
    return module


def test_settings_reference_lists_every_key_with_its_comment():
    docs = _extension()
    found = docs.settings_from_conf()
    assert [s.key for s in found] == list(conf.DEFAULTS)
    assert all(s.comment for s in found), [s.key for s in found if not s.comment]
    by_key = {s.key: s for s in found}
    assert by_key["WEBHOOK_MAX_BODY_BYTES"].default == "1048576"
    assert by_key["HTTP_TIMEOUT"].default == "(5.0, 30.0)"
    assert "413" in by_key["WEBHOOK_MAX_BODY_BYTES"].comment
    # Each key's type as conf.AppSettings declares it.
    assert all(s.type for s in found), [s.key for s in found if not s.type]
    assert by_key["HTTP_TIMEOUT"].type == "tuple[float, float] | float"
    # A key's row in the generated table.
    table = "\n".join(docs.settings_rst())
    assert all(f"``{key}``" in table for key in conf.DEFAULTS)


def test_the_docs_build_installs_the_example_projects_apps():
    from django.conf import settings

    # tests/settings.py imports the example project's settings, so these are its apps.
    assert _extension().example_installed_apps() == list(settings.INSTALLED_APPS)


def test_checks_reference_lists_every_check_the_code_reports():
    docs = _extension()
    documented = {c.id for c in docs.checks_from_source()}
    # Every id written in the source is one the table shows (none built some other way)...
    assert docs.check_ids_in_source() == documented
    # ...and every id the registered checks report in a bad configuration is among them.
    assert {"bento_stripe.E001", "bento_stripe.E027", "bento_stripe.W004"} <= documented
    registered = checks.registry.registry.get_checks(include_deployment_checks=True)
    assert any(c.__module__.startswith("bento_stripe") for c in registered)
    for check in docs.checks_from_source():
        assert check.messages, check.id
        assert check.level == ("Warning" if ".W" in check.id else "Error")


def test_signals_reference_lists_every_signal():
    from bento_stripe import signals

    docs = _extension()
    names = [name for name, _ in docs.signals_from_source()]
    public = [n for n, v in vars(signals).items() if type(v).__name__ == "Signal" and v.__module__]
    assert sorted(names) == sorted(public)
    assert all(comment for _, comment in docs.signals_from_source())


def test_readme_is_short_and_renders():
    lines = README.splitlines()
    assert len(lines) <= 200, len(lines)
    from docutils.core import publish_doctree

    publish_doctree(README, settings_overrides={"halt_level": 2, "report_level": 2})
    assert "DJSTRIPE_USE_NATIVE_JSONFIELD" not in README  # dj-stripe 2.11 never reads it


#: Every command README shows, and the test or CI step that runs it.
README_COMMANDS = {
    'pip install "bento-stripe[postgres,redis]"': "tests/test_packaging.py (the wheel with both extras)",
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"': "tests/test_packaging.py",
    "python manage.py migrate": "tests/test_packaging.py",
    "python manage.py bento_stripe_endpoint --url https://app.example.com": "tests/test_endpoint_command.py",
    "python manage.py qcluster": "tests/test_qcluster.py",
    "make demo": "tests/test_demo.py",
    "make test": ".ci/run",
    "make docs": ".ci/run",
}


def test_every_command_in_readme_is_run_by_a_test_or_ci():
    blocks = re.findall(r"\.\. code-block:: bash\n\n((?:    .*\n|\n)+)", README)
    shown = {
        re.sub(r"\s+#.*$", "", line.strip())
        for block in blocks
        for line in block.splitlines()
        if line.strip()
    }
    shown |= {m for m in ("make demo", "make test", "make docs") if f"``{m}``" in README}
    assert shown == set(README_COMMANDS), shown ^ set(README_COMMANDS)
    for command, where in README_COMMANDS.items():
        path = ROOT / where.split(" ")[0]
        assert path.exists(), where
        text = path.read_text()
        needle = command.split()[-1] if command.startswith("make") else command.split()[2]
        if command.startswith("pip install"):
            needle = "[postgres,redis]"
        if command.startswith("python -c"):
            needle = "readme_fernet_command"
        assert needle in text, (command, where)


def test_install_steps_are_one_text_in_readme_and_the_guide():
    guide = (DOCS / "getting-started.rst").read_text()
    assert ".. include:: ../README.rst" in guide
    assert ":start-after: .. start-install" in guide and ":end-before: .. end-install" in guide
    assert README.index(".. start-install") < README.index(".. _minimal-settings:")
    assert README.index(".. _minimal-settings:") < README.index(".. end-install")


def test_operations_and_reference_indexes_pick_up_new_pages():
    for index in ("operations/index.rst", "reference/index.rst"):
        text = (DOCS / index).read_text()
        assert ":glob:" in text and re.search(r"^   \*$", text, re.M), index


def test_code_points_at_the_docs_not_at_a_design_file():
    name = "DESIGN" + ".md"  # spelt apart so this file does not find itself
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bento_stripe", "tests", "chaos", "benchmarks", "example_project")
        for path in (ROOT / folder).rglob("*.py")
        if name in path.read_text()
    ]
    assert offenders == []

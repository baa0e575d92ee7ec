"""Sphinx directives that write reference tables from the code, so the docs cannot drift.

``bento-stripe-settings``
    Every key of ``bento_stripe.conf.DEFAULTS`` with its type (as declared on
    ``conf.AppSettings``), its default and the ``#`` comment written above it in
    ``conf.py`` (a comment above several keys covers each of them).
``bento-stripe-checks``
    Every system check id that any module of the package reports (``id="bento_stripe.X"``
    in a call to ``checks.Error``, ``Warning``, ...), with its messages and the module.
``bento-stripe-signals``
    Every ``Signal()`` of ``bento_stripe/signals.py`` with its ``#:`` comment.
``bento-stripe-commands``
    Every management command of the package with its help and its ``--help`` output.

The scanning functions are plain Python (no Sphinx) so that tests can compare them with
the running code (tests/test_docs.py).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bento_stripe"
#: The example project's settings: the docs build installs the same apps (the tests'
#: settings import them too), read from the source so that nothing of it runs here.
EXAMPLE_SETTINGS = ROOT / "example_project" / "settings.py"

#: Check ids as they appear anywhere in the package's source.
CHECK_ID = re.compile(r"bento_stripe\.([EWCI]\d{3})\b")
_LEVELS = {"Critical", "Error", "Warning", "Info", "Debug", "CheckMessage"}


# -- settings ------------------------------------------------------------------------------


@dataclass
class Setting:
    key: str
    default: str
    comment: str
    type: str = ""


def settings_from_conf(path: Path = PACKAGE / "conf.py") -> list[Setting]:
    """The keys of ``DEFAULTS`` in source order, each with its default (as written), the
    nearest ``#`` comment block above it inside the dict and its type as ``AppSettings``
    declares it."""
    source = path.read_text()
    tree = ast.parse(source)
    types = _declared_types(tree)
    node = next(
        n
        for n in tree.body
        if isinstance(n, ast.AnnAssign | ast.Assign)
        and any(
            isinstance(t, ast.Name) and t.id == "DEFAULTS"
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
        )
    )
    if not isinstance(node.value, ast.Dict):
        raise TypeError("bento_stripe/conf.py: DEFAULTS must be a dict literal")
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and tok.line.strip().startswith("#"):
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    result = []
    current = ""
    previous_end = node.value.lineno
    for key_node, value_node in zip(node.value.keys, node.value.values, strict=True):
        if not isinstance(key_node, ast.Constant):
            raise TypeError("bento_stripe/conf.py: DEFAULTS keys must be string literals")
        block = [comments[n] for n in range(previous_end + 1, key_node.lineno) if n in comments]
        if block:
            current = " ".join(block)
        default = ast.get_source_segment(source, value_node) or ""
        key = str(key_node.value)
        result.append(Setting(key, _evaluated(default), current, types.get(key, "")))
        previous_end = value_node.end_lineno or key_node.lineno
    return result


def _declared_types(tree: ast.Module) -> dict[str, str]:
    """``KEY: type`` of the class ``AppSettings``, the type as written."""
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AppSettings")
    return {
        n.target.id: ast.unparse(n.annotation)
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }


def _evaluated(default: str) -> str:
    """``1024 * 1024`` reads better as ``1048576``; names and calls stay as written."""
    try:
        value = eval(compile(default, "<default>", "eval"), {"__builtins__": {}})  # noqa: S307
    except Exception:  # noqa: BLE001 - not a literal expression: show the source
        return default
    return repr(value)


# -- checks --------------------------------------------------------------------------------


@dataclass
class Check:
    id: str
    level: str
    messages: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)


def check_ids_in_source(package: Path = PACKAGE) -> set[str]:
    """Every ``bento_stripe.X000`` id written anywhere in the package's Python source."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        found.update(f"bento_stripe.{m}" for m in CHECK_ID.findall(path.read_text()))
    return found


def checks_from_source(package: Path = PACKAGE) -> list[Check]:
    """Every check message of the package: the calls to ``checks.Error(...)`` & co. whose
    ``id`` is a ``bento_stripe.`` string, with their message text (f-string parts as
    ``{...}``), grouped by id."""
    by_id: dict[str, Check] = {}
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "attr", getattr(call.func, "id", ""))
            if name not in _LEVELS:
                continue
            ident = next(
                (k.value for k in call.keywords if k.arg == "id"),
                None,
            )
            if not isinstance(ident, ast.Constant) or not str(ident.value).startswith(
                "bento_stripe."
            ):
                continue
            check = by_id.setdefault(
                ident.value, Check(ident.value, "Warning" if ".W" in ident.value else "Error")
            )
            if call.args:
                text = _text(call.args[0])
                hint = next((k.value for k in call.keywords if k.arg == "hint"), None)
                if hint is not None:
                    text += " " + _text(hint)
                if text not in check.messages:
                    check.messages.append(text)
            if module not in check.modules:
                check.modules.append(module)
    return sorted(by_id.values(), key=lambda c: (c.id[len("bento_stripe.") + 1 :], c.id))


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(v.value) if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"  # type: ignore[attr-defined]
            for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left) + _text(node.right)
    return "{" + ast.unparse(node) + "}"


# -- signals -------------------------------------------------------------------------------


def signals_from_source(path: Path = PACKAGE / "signals.py") -> list[tuple[str, str]]:
    """``(name, #: comment)`` of every module-level ``name = Signal()``."""
    source = path.read_text()
    lines = source.splitlines()
    result = []
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", "") == "Signal"
        ):
            comment = []
            n = node.lineno - 2
            while n >= 0 and lines[n].startswith("#:"):
                comment.insert(0, lines[n][2:].strip())
                n -= 1
            for target in node.targets:
                if isinstance(target, ast.Name):
                    result.append((target.id, " ".join(comment)))
    return result


# -- rendering (reStructuredText) -----------------------------------------------------------


def _literal(text: str) -> str:
    """Plain text (a comment or a check message) made safe for reStructuredText."""
    for char in "\\*`|_":
        text = text.replace(char, "\\" + char)
    return text


def settings_rst() -> list[str]:
    """One row per comment block: the keys it covers, their types and defaults, the comment."""
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 28 16 16 40", ""]
    out += ["   * - key", "     - type", "     - default", "     - meaning"]
    groups: list[list[Setting]] = []
    for setting in settings_from_conf():
        if groups and groups[-1][0].comment == setting.comment:
            groups[-1].append(setting)
        else:
            groups.append([setting])
    for group in groups:
        out.append("   * - " + "\n\n       ".join(f"``{s.key}``" for s in group))
        out.append("     - " + "\n\n       ".join(f"``{s.type}``" for s in group))
        out.append("     - " + "\n\n       ".join(f"``{s.default}``" for s in group))
        out.append("     - " + (_literal(group[0].comment) or "(no comment in conf.py)"))
    return "\n".join(out).splitlines()


def checks_rst() -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 18 10 72", ""]
    out += ["   * - id", "     - level", "     - what it reports (and where)"]
    for c in checks_from_source():
        body = " / ".join(_literal(m) for m in c.messages) or "(message built at run time)"
        out += [
            f"   * - ``{c.id}``",
            f"     - {c.level}",
            f"     - {body} (``{', '.join(c.modules)}``)",
        ]
    return out


def signals_rst() -> list[str]:
    out = []
    for name, comment in signals_from_source():
        # The ``#:`` comments of signals.py are written in reStructuredText already.
        out += [f"``bento_stripe.signals.{name}``", f"    {comment}", ""]
    return out


def example_installed_apps(path: Path = EXAMPLE_SETTINGS) -> list[str]:
    """``INSTALLED_APPS`` of the example project (a list literal there)."""
    tree = ast.parse(path.read_text())
    node = next(
        n
        for n in tree.body
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "INSTALLED_APPS" for t in n.targets)
    )
    apps = ast.literal_eval(node.value)
    if not (isinstance(apps, list) and all(isinstance(a, str) for a in apps)):
        raise TypeError(f"{path}: INSTALLED_APPS must be a list of strings")
    return apps


def configure_django() -> None:
    """Django set up with the apps the package needs (for autodoc and the commands' parsers);
    nothing is read from a project's settings and no database is touched."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="docs-only",  # noqa: S106 - never used for anything but building docs
            INSTALLED_APPS=example_installed_apps(),
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            DJSTRIPE_FOREIGN_KEY_TO_FIELD="id",
            Q_CLUSTER={"name": "docs", "orm": "default", "timeout": 60, "retry": 120},
            USE_TZ=True,
            ROOT_URLCONF="docs_urls",
        )
        django.setup()


def commands_rst() -> list[str]:
    """Each command's help text and its argparse usage, read by building its parser."""
    from django.core.management import load_command_class

    configure_django()
    out = []
    names = sorted(p.stem for p in (PACKAGE / "management" / "commands").glob("bento_stripe_*.py"))
    for name in names:
        command = load_command_class("bento_stripe", name)
        parser = command.create_parser("manage.py", name)
        title = f"``{name}``"
        out += [title, "-" * len(title), "", _literal(command.help.strip()), "", "::", ""]
        out += ["    " + line for line in parser.format_help().rstrip().splitlines()]
        out += [""]
    return out


def write_openapi_schema(target: Path) -> None:
    """The REST API's OpenAPI schema (YAML), as ``manage.py spectacular`` writes it."""
    from django.core.management import call_command

    configure_django()
    target.parent.mkdir(parents=True, exist_ok=True)
    call_command(
        "spectacular",
        custom_settings="bento_stripe.api.schema_settings.SCHEMA_SETTINGS",
        file=str(target),
        validate=True,
        fail_on_warn=True,
    )


# -- Sphinx --------------------------------------------------------------------------------


def setup(app):  # pragma: no cover - exercised by `make docs`
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    def directive(render):
        class Generated(SphinxDirective):
            has_content = False

            def run(self):
                for path in (PACKAGE / "conf.py", PACKAGE / "signals.py"):
                    self.env.note_dependency(str(path))
                container = __import__("docutils").nodes.section()
                container.document = self.state.document
                text = StringList(render(), source=f"<generated by {render.__name__}>")
                nested_parse_with_titles(self.state, text, container)
                return container.children

        return Generated

    # The schema is written into the source tree (docs/_generated/, ignored by git) before
    # the pages are read, so that :download: can publish it with the HTML.
    app.connect(
        "builder-inited",
        lambda app: write_openapi_schema(Path(app.srcdir) / "_generated" / "openapi.yaml"),
    )
    app.add_directive("bento-stripe-settings", directive(settings_rst))
    app.add_directive("bento-stripe-checks", directive(checks_rst))
    app.add_directive("bento-stripe-signals", directive(signals_rst))
    app.add_directive("bento-stripe-commands", directive(commands_rst))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

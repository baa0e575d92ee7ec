"""Sphinx configuration of bento-stripe's documentation (``make docs`` builds it with -W)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from bento_stripe import __version__  # noqa: E402

project = "bento-stripe"
author = "The bento-stripe maintainers"
copyright = "2026, The bento-stripe maintainers"  # noqa: A001 - Sphinx's name
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "bento_stripe_docs",
]
# Links to Django's and Python's docs resolve offline from the inventories kept in docs/_inv
# (a build needs no network); an empty mapping when they are absent.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}

# Files starting with "_" are fragments included by other pages.
exclude_patterns = ["_build", "**/_*.rst", "Thumbs.db", ".DS_Store"]
root_doc = "index"
nitpicky = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}

html_theme = "furo"
html_title = f"bento-stripe {release}"
html_static_path = ["_static"]
html_theme_options = {
    "source_repository": "https://github.com/bentonow/bento-stripe/",
    "source_branch": "main",
    "source_directory": "docs/",
}

# autodoc imports the package, whose models need Django set up (no project settings read).
from bento_stripe_docs import configure_django  # noqa: E402

configure_django()

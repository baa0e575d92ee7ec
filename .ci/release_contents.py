"""List what each built artefact in a dist directory holds, and fail when something a
release needs is missing (used by ``make release``): LICENSE, py.typed, the templates, the
static files and the migrations, and no tests."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

WANTED = (
    "LICENSE",
    "bento_stripe/py.typed",
    "bento_stripe/templates/bento_stripe/account_review.html",
    "bento_stripe/static/bento_stripe/bento_stripe.css",
    "bento_stripe/migrations/0001_initial.py",
)


def names(path: Path) -> list[str]:
    if path.suffix == ".whl":
        return zipfile.ZipFile(path).namelist()
    with tarfile.open(path) as archive:
        return [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]


def main(dist: str) -> int:
    artefacts = sorted(Path(dist).glob("bento_stripe-*"))
    if not artefacts:
        print(f"no artefacts in {dist}/", file=sys.stderr)
        return 1
    worst = 0
    for path in artefacts:
        contents = names(path)
        print(f"\n{path} ({path.stat().st_size:,} bytes, {len(contents)} files)")
        for name in sorted(contents):
            print(f"    {name}")
        missing = [w for w in WANTED if not any(n == w or n.endswith("/" + w) for n in contents)]
        stray = [n for n in contents if n.startswith(("tests/", "example_project/"))]
        if missing or stray:
            print(f"  MISSING: {missing}  UNWANTED: {stray}", file=sys.stderr)
            worst = 1
    print("\nNot uploaded. To publish: twine upload dist/* (see docs/development.rst).")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))

"""Run pip-audit over the installed dependencies, or say clearly why it was skipped.

``python -m tests.security.dependency_audit`` (from ``.ci/run``): exit 1 when a dependency
has a known vulnerability; exit 0 with a ``pip-audit: skipped: ...`` line when the advisory
service cannot be reached or knows none of the dependencies (a registry mirror without
advisory data), so a green run never pretends an audit happened.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

#: Words of a network failure in pip-audit's error output.
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "timed out")


@dataclass
class Verdict:
    exit_code: int
    line: str


def judge(returncode: int, stdout: str, stderr: str) -> Verdict:
    """What one pip-audit run (``-f json``) means for CI."""
    try:
        report = json.loads(stdout)
    except ValueError:
        if any(word in stderr for word in UNREACHABLE):
            return Verdict(0, "pip-audit: skipped: the advisory service is unreachable.")
        tail = stderr.strip().splitlines()[-1:] or ["no output"]
        return Verdict(1, f"pip-audit: failed to run ({tail[0]}).")
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if dependencies and not audited:
        return Verdict(
            0,
            f"pip-audit: skipped: the advisory service knows none of the {len(dependencies)} "
            "dependencies (a registry mirror without advisory data?).",
        )
    vulnerable = [d for d in audited if d.get("vulns")]
    if vulnerable:
        found = ", ".join(
            f"{d['name']} {d['version']} ({', '.join(v['id'] for v in d['vulns'])})"
            for d in vulnerable
        )
        return Verdict(1, f"pip-audit: known vulnerabilities: {found}.")
    return Verdict(0, f"pip-audit: {len(audited)} dependencies audited, no known vulnerabilities.")


def main() -> int:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--progress-spinner",
            "off",
            "--skip-editable",
            "--timeout",
            "15",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    verdict = judge(result.returncode, result.stdout, result.stderr)
    print(verdict.line)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())

"""The pip-audit gate of .ci/run: a vulnerability fails, an unreachable source is a clear skip."""

from __future__ import annotations

import json

from .dependency_audit import judge


def report(*dependencies: dict) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def test_a_known_vulnerability_fails_the_run():
    verdict = judge(
        1,
        report(
            {
                "name": "django",
                "version": "5.2.0",
                "vulns": [{"id": "PYSEC-1", "fix_versions": []}],
            },
            {"name": "stripe", "version": "15.6.2", "vulns": []},
        ),
        "",
    )
    assert verdict.exit_code == 1 and "django 5.2.0 (PYSEC-1)" in verdict.line


def test_a_clean_audit_passes_and_says_how_much_it_audited():
    verdict = judge(0, report({"name": "stripe", "version": "15.6.2", "vulns": []}), "")
    assert (verdict.exit_code, verdict.line) == (
        0,
        "pip-audit: 1 dependencies audited, no known vulnerabilities.",
    )


def test_an_unreachable_service_is_a_clear_skip():
    verdict = judge(1, "", "requests.exceptions.ConnectionError: Max retries exceeded")
    assert verdict.exit_code == 0 and verdict.line.startswith("pip-audit: skipped:")


def test_a_service_that_knows_no_dependency_is_a_skip_not_a_pass():
    skipped = {"name": "stripe", "version": "15.6.2", "skip_reason": "not found on PyPI"}
    verdict = judge(0, report(skipped, {**skipped, "name": "django"}), "")
    assert verdict.exit_code == 0 and verdict.line.startswith("pip-audit: skipped:")
    assert "2 dependencies" in verdict.line


def test_any_other_failure_fails():
    assert judge(2, "", "Traceback ...\nValueError: boom").exit_code == 1

"""django-q2 tasks of operations (names in ``bento_stripe.queue``)."""

from __future__ import annotations

from ..logs import get_logger
from .retention import prune as prune_now

logger = get_logger("bento_stripe.operations")


def prune() -> dict[str, int]:
    """Task (nightly): remove what is older than ``RETENTION_DAYS``; returns the counts."""
    report = prune_now()
    logger.info(
        "Pruned rows older than %s: %s",
        report.cutoff.isoformat(),
        ", ".join(f"{n} {table}" for table, n in report.counts.items()),
        extra={"prune": report.counts},
    )
    return report.counts

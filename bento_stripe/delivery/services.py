"""Delivery actions shared by the admin and ``bento_stripe_replay``: retry now, replay."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import queue
from ..models import OutboxEvent

S = OutboxEvent.Status

#: Rows "Retry now" picks up: not delivered yet, waiting or given up on.
RETRYABLE = (S.PENDING, S.FAILED, S.DEAD)


def _requeue(rows: QuerySet[OutboxEvent], statuses: Iterable[str]) -> int:
    with transaction.atomic():
        selected = rows.filter(status__in=statuses)
        site_ids = set(selected.values_list("site_id", flat=True))
        count = selected.update(
            status=S.PENDING,
            attempts=0,
            next_attempt_at=timezone.now(),
            lease_expires_at=None,
        )
        queue.drain_sites_on_commit(site_ids)
    return count


def retry_now(rows: QuerySet[OutboxEvent]) -> int:
    """Send pending, failed and dead rows again straight away, with a fresh set of attempts."""
    return _requeue(rows, RETRYABLE)


def replay(rows: QuerySet[OutboxEvent]) -> int:
    """Send delivered rows again (Bento dedupes value events by ``unique.key``)."""
    return _requeue(rows, (S.DELIVERED,))

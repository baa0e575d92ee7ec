"""django-q2 tasks of the webhook: process one recorded event, and sweep up forgotten ones."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from ..conf import app_settings
from ..models import StripeEventRecord
from .processing import process_record

#: Attempts after which a failing event is left for a human (visible as failed in the admin).
MAX_SWEEP_ATTEMPTS = 10
#: Name of the django-q2 schedule that runs :func:`sweep`.
SWEEP_SCHEDULE = "bento_stripe: sweep unprocessed Stripe events"


def _sync() -> bool:
    # django-q2 reads Q_CLUSTER once at import; read ``sync`` per call so tests can override it.
    return bool((getattr(settings, "Q_CLUSTER", None) or {}).get("sync", False))


def enqueue(record_id: int) -> None:
    """Hand one recorded event to a django-q2 worker."""
    async_task(
        "bento_stripe.webhooks.tasks.process_event",
        record_id,
        task_name=f"bento_stripe.process_event.{record_id}",
        group="bento_stripe.webhooks",
        sync=_sync(),
    )


def process_event(record_id: int) -> str:
    """Task: process a recorded Stripe event (idempotent: a second run changes nothing)."""
    return process_record(record_id)


def sweep() -> int:
    """Task: enqueue verified events that were never processed (the process died before
    enqueueing) or whose processing failed; returns how many were enqueued."""
    cutoff = timezone.now() - timedelta(seconds=app_settings.SWEEP_AFTER)
    stale = StripeEventRecord.objects.filter(
        status__in=[StripeEventRecord.Status.RECEIVED, StripeEventRecord.Status.FAILED],
        received_at__lte=cutoff,
        attempts__lt=MAX_SWEEP_ATTEMPTS,
    ).order_by("received_at", "pk")
    ids = list(stale.values_list("pk", flat=True)[:500])
    for record_id in ids:
        enqueue(record_id)
    return len(ids)


def ensure_sweep_schedule():
    """Create (or keep) the django-q2 schedule that runs :func:`sweep` every minute."""
    from django_q.models import Schedule

    schedule, _ = Schedule.objects.update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": "bento_stripe.webhooks.tasks.sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    return schedule

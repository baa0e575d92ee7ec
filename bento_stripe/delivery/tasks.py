"""django-q2 tasks of delivery: drain a site, sweep due rows, and the wiring that enqueues them."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver
from django_q.signals import post_spawn

from .. import signals
from .worker import drain_site, sites_due

logger = logging.getLogger("bento_stripe.delivery")

#: Name of the django-q2 schedule that sweeps due rows once a minute.
SWEEP_SCHEDULE = "bento_stripe.delivery.sweep"
DRAIN_TASK = "bento_stripe.delivery.tasks.drain"
SWEEP_TASK = "bento_stripe.delivery.tasks.sweep"


def enqueue_drain(site_id: int) -> str:
    """Queue a drain of one site (safe to call often: a busy site turns extra drains away)."""
    from django_q.tasks import async_task

    return async_task(DRAIN_TASK, site_id, task_name=f"bento-drain-site-{site_id}")


def enqueue_drains_on_commit(site_ids) -> None:
    """Queue drains of ``site_ids`` once the current transaction commits (now, outside one)."""
    ids = sorted({int(s) for s in site_ids})

    def go():
        for site_id in ids:
            enqueue_drain(site_id)

    transaction.on_commit(go)


def drain(site_id: int) -> dict:
    """Task: drain one site; queue a follow-up when the time budget ran out with rows due."""
    result = drain_site(site_id)
    if result.more:
        enqueue_drain(site_id)
    return result.as_dict()


def sweep() -> int:
    """Task (scheduled every minute): queue a drain for every site with due rows."""
    ids = sites_due()
    for site_id in ids:
        enqueue_drain(site_id)
    return len(ids)


def ensure_schedule() -> None:
    """Create or repair the once-a-minute sweep schedule (one row, however many workers ask)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=SWEEP_SCHEDULE,
        defaults={
            "func": SWEEP_TASK,
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    # Workers starting together may each have created one: keep the oldest.
    extra = Schedule.objects.filter(name=SWEEP_SCHEDULE).order_by("pk")[1:]
    Schedule.objects.filter(pk__in=list(extra.values_list("pk", flat=True))).delete()


@receiver(signals.outbox_ready, dispatch_uid="bento_stripe.delivery.outbox_ready")
def on_outbox_ready(sender=None, site_ids=(), **kwargs):
    """New rows are committed: drain their sites."""
    enqueue_drains_on_commit(site_ids)


@receiver(post_spawn, dispatch_uid="bento_stripe.delivery.schedule")
def on_worker_spawned(sender=None, proc_name="", **kwargs):
    """A qcluster worker started: make sure the sweep schedule exists."""
    if proc_name == "MainProcess":
        return  # a task run synchronously (``sync``), not a cluster starting
    try:
        ensure_schedule()
    except Exception:  # noqa: BLE001 - a worker must start even if the database is away
        logger.warning("Could not create the %s schedule", SWEEP_SCHEDULE, exc_info=True)

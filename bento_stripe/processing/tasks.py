"""django-q2 tasks of processing (names in ``bento_stripe.queue``)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from django.db import close_old_connections
from django.utils import timezone

from .. import queue
from ..conf import app_settings
from ..models import Reroute
from ..wakeups import Watch
from . import claim, held
from . import reroute as reroutes
from .events import process_claimed

#: Seconds between looks for new events while a woken task lingers.
POLL = 0.05


def process_waiting(budget: float | None = None, linger: float | None = None) -> int:
    """Task: claim and apply waiting events, one connection's batch at a time; returns how many.

    After its last batch it keeps looking for ``linger`` seconds (``PROCESS_LINGER``; none
    in sync mode), which is what lets web processes skip wake-ups within an interval
    (``queue.wake_processing``). While it keeps up (a claim smaller than a batch, or
    none) it holds the wake-up marker (``wakeups.Watch``), so a steady stream is served
    by one task rather than split between every worker slot; when it falls behind, the
    marker lapses and the next commit wakes another task. The outbox rows it commits wake
    a delivery loop, which decides when each site's rows go (``delivery.loop``). It stops
    after ``budget`` seconds (``PROCESS_BUDGET``) and hands over to a fresh task. A task
    that finds nothing at its first look ends at once: another task took the events and
    is still looking.
    """
    budget = app_settings.PROCESS_BUDGET if budget is None else budget
    if linger is None:
        linger = 0.0 if queue.is_sync() else app_settings.PROCESS_LINGER
    size = app_settings.PROCESS_BATCH_SIZE
    owner = uuid.uuid4().hex
    # In sync mode every commit processes at once: no wake-up to hide, nothing to hold.
    watch = Watch("processing", 0.0 if queue.is_sync() else app_settings.PROCESS_WAKE_INTERVAL)
    started = last_work = time.monotonic()
    done = 0
    first = True
    while time.monotonic() - started < budget:
        looked_at = time.monotonic()
        records = claim.claim(owner, size)
        if records:
            done += process_claimed(records)
            last_work = time.monotonic()
            first = False
            if len(records) < size:  # keeping up: no other task is needed
                watch.renew(last_work + linger)
            continue
        if first:
            # A redundant wake-up: the event that woke it was claimed by a task that is
            # still looking (its linger covers what was committed since).
            return done
        if time.monotonic() - last_work >= linger and looked_at >= watch.promised_until:
            return done
        watch.renew(last_work + linger)
        time.sleep(POLL)
        close_old_connections()
    # Out of budget: look once more after the last moment a commit may have skipped its
    # wake-up because of this task, then hand over if anything waits.
    watch.settle(last_work)
    if claim.has_available():
        queue.wake_processing(force=True)
    return done


def sweep() -> dict:
    """Task (every minute): wake processing for events left waiting (a lost wake-up, a
    killed worker, a failed attempt due again), and run re-routes whose task was lost."""
    woke = claim.has_available()
    if woke:
        queue.wake_processing(force=True)
    stale = timezone.now() - timedelta(seconds=app_settings.SWEEP_AFTER)
    pending = list(
        Reroute.objects.filter(
            finished_at__isnull=True, created_at__lte=stale, attempts__lt=reroutes.MAX_ATTEMPTS
        ).values_list("pk", flat=True)[:100]
    )
    for reroute_id in pending:
        queue.enqueue(queue.REROUTE, reroute_id, task_name=f"bento_stripe.reroute.{reroute_id}")
    return {"woke": woke, "reroutes": len(pending)}


def lookup_held(budget: float | None = None) -> int:
    """Task (every minute): look up held people at Stripe within ``LOOKUP_BUDGET`` seconds."""
    return held.lookup_held(budget)


def reroute(reroute_id: int) -> str:
    """Task: recompute a re-routed connection's people (retried by the sweep when it fails)."""
    return reroutes.run(reroute_id)

"""The delivery loop: one task per delivery worker serves every site whose rows are due.

A loop looks at the whole outbox, sends one batch to each site that is ready and whose
rate budget allows a request now, and moves on; it never sleeps on one site's behalf. A
site that must wait (rate limit, backoff, lease) is passed over and looked at again on
a later pass, so a busy site never holds a worker while other sites' rows wait, and the
number of sites served does not depend on the number of worker slots.

Everything that decides when a site's rows go lives where every loop on every machine
sees it: the outbox rows themselves (how many are due, since when), the site's lock
(``locks``, one sender per site) and the shared rate limiter (Redis or the database).
The loop's own memory only remembers, for the rest of its run, which sites the limiter
told it to come back to later, so that it does not ask again on every pass.

Ready means (``ready``): a full batch is due, or the rows do not arrive fast enough to
fill a batch within ``GATHER_MAX_SECONDS`` of the oldest (so at a steady stream each
site's rows go one request after processing commits them), or the oldest has waited
``GATHER_MAX_SECONDS``. In a burst, rows that will fill a batch soon wait for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connection
from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from .. import queue
from ..conf import app_settings
from ..models import OutboxEvent, get_site_model
from ..wakeups import Watch
from .pool import SitePool
from .worker import Drainer, DrainResult, due_filter

#: Seconds between looks at the outbox while the loop has nothing to send.
POLL = 0.05


def ready(rows: int, oldest_age: float, batch: int) -> bool:
    """Whether a site with ``rows`` due rows, the oldest ``oldest_age`` seconds old, sends now."""
    if rows >= batch:
        return True
    short = app_settings.GATHER_SECONDS
    longest = max(short, app_settings.GATHER_MAX_SECONDS)
    if oldest_age < short:
        return False
    if oldest_age >= longest:
        return True
    # At the rate they came since the oldest, when would a batch be full?
    fills_after = batch * max(oldest_age, 0.001) / max(rows, 1)
    return fills_after >= longest


def due_groups(now: datetime) -> QuerySet:
    """Per site with rows due now: how many, and since when (the oldest's ``created_at``).

    Read many times a second while rows wait: it reads only the rows that can be due
    (the outbox's partial indexes), never the delivered ones, so its cost follows the
    rows waiting, not the size of the table.
    """
    return (
        OutboxEvent.objects.filter(due_filter(now))
        .order_by()
        .values("site_id")
        .annotate(rows=Count("pk"), oldest=Min("created_at"))
        .order_by("oldest")
    )


def ready_sites(now: datetime) -> tuple[list[int], bool]:
    """Sites whose due rows should go now, oldest first; and whether any row is due at all."""
    batch = app_settings.BATCH_SIZE
    sites, any_due = [], False
    for group in due_groups(now):
        any_due = True
        age = (now - group["oldest"]).total_seconds()
        if ready(group["rows"], age, batch):
            sites.append(group["site_id"])
    return sites, any_due


def _due_after(watch: Watch, last_work: float) -> bool:
    """Whether any row is due, looked at after the last commit whose wake-up this loop may
    have hidden (``Watch.settle``): a loop that stops on its budget hands over then."""
    watch.settle(last_work)
    return OutboxEvent.objects.filter(due_filter(timezone.now())).exists()


@dataclass
class LoopResult:
    """What one delivery loop did (stored as the django-q2 task result)."""

    passes: int = 0
    requests: int = 0
    delivered: int = 0
    sites: set[int] = field(default_factory=set)
    #: Rows were still due when the budget ran out (a fresh loop was woken).
    more: bool = False

    def as_dict(self) -> dict:
        data = self.__dict__.copy()
        data["sites"] = len(self.sites)
        return data


def concurrency() -> int:
    """Sites one loop sends to at once: ``DELIVERY_CONCURRENCY`` on PostgreSQL, else one."""
    if connection.vendor != "postgresql":
        return 1
    return max(1, app_settings.DELIVERY_CONCURRENCY)


def run(
    budget: float | None = None, linger: float | None = None, *, once: bool = False
) -> LoopResult:
    """Serve every ready site until nothing is due for ``linger`` seconds or ``budget`` runs out.

    ``once``: one pass only (sync mode, tests). A loop that finds nothing due at its first
    look ends at once: another loop sent the rows that woke it and is still looking. Up to
    ``concurrency()`` sites are visited at once (``pool``).
    """
    budget = app_settings.DELIVERY_BUDGET if budget is None else budget
    linger = app_settings.DELIVERY_LINGER if linger is None else linger
    started = time.monotonic()

    def visit(site_id: int, site: Any) -> DrainResult:
        return Drainer(
            site_id,
            site=site,
            budget=max(0.0, budget - (time.monotonic() - started)),
            wait_inline=False,
            max_batches=1,
        ).run()

    pool = SitePool(concurrency(), visit)
    try:
        return _serve(pool, budget, linger, once, started)
    finally:
        pool.shutdown()


def _serve(pool: SitePool, budget: float, linger: float, once: bool, started: float) -> LoopResult:
    result = LoopResult()
    last_work = started
    #: Sites the limiter (or a backoff) told us to come back to at this time.
    not_before: dict[int, datetime] = {}

    def record(drains: list[DrainResult]) -> bool:
        sent = False
        for drain in drains:
            if drain.next_due:
                not_before[drain.site_id] = drain.next_due
            else:
                not_before.pop(drain.site_id, None)
            if drain.requests:
                sent = True
                result.requests += drain.requests
                result.delivered += drain.delivered
                result.sites.add(drain.site_id)
        return sent

    # While looking, the loop holds the wake-up marker: commits meanwhile queue no other
    # loop (``wakeups.Watch``). It stops only after a look later than its promise.
    # In sync mode every commit drains at once: no wake-up to hide. A loop that does not
    # linger (tests, one pass) promises nothing, so it holds nothing.
    held = linger > 0 and not (once or queue.is_sync())
    watch = Watch("delivery", app_settings.DELIVERY_WAKE_INTERVAL if held else 0.0)
    while True:
        looked_at = time.monotonic()
        now = timezone.now()
        sites, any_due = ready_sites(now)
        result.passes += 1
        serving = [s for s in sites if s not in pool.in_flight and not_before.get(s, now) <= now]
        # The pass's sites in one read, not one per site.
        site_rows = get_site_model().objects.in_bulk(serving) if serving else {}
        for site_id in serving:
            if pool.full or time.monotonic() - started >= budget:
                break
            if site_id in site_rows:  # else removed since its rows were read
                pool.submit(site_id, site_rows[site_id])
        # Wait a little for a visit in flight to end rather than look again at once.
        sent = record(pool.finish() if once else pool.collect(wait=POLL))
        if sent:
            last_work = time.monotonic()
        idle = not sent and not pool.in_flight
        if idle and (once or (result.passes == 1 and not any_due)):
            return result
        # Rows due (gathering, waiting for the limiter) keep the loop until its budget.
        watch.renew(started + budget if any_due else last_work + linger)
        if sent or pool.in_flight:
            continue  # look again at once: more may be ready
        elapsed = time.monotonic() - started
        if elapsed >= budget:
            result.more = any_due or _due_after(watch, last_work)
            return result
        if (
            not any_due
            and time.monotonic() - last_work >= linger
            and looked_at >= watch.promised_until
        ):
            return result
        time.sleep(POLL)
        close_old_connections()

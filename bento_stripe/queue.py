"""The one place that talks to django-q2: task names, enqueueing, wake-ups and schedules.

Every other module queues work through these functions, so ``sync`` mode (tasks run
in-process, as tests run them) is decided once, here, per call (django-q2's own ``Conf``
reads ``Q_CLUSTER`` once at import, which ``override_settings`` cannot reach).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from .conf import app_settings
from .operations.logs import get_logger

logger = get_logger("bento_stripe.queue")

#: Task: claim and apply waiting Stripe events (``bento_stripe.processing.tasks``).
PROCESS_EVENTS = "bento_stripe.processing.tasks.process_waiting"
#: Task: wake the processing for events left waiting, re-run unfinished re-routes.
PROCESSING_SWEEP = "bento_stripe.processing.tasks.sweep"
#: Task: ask Stripe for the emails of held people, within a time budget.
LOOKUP_HELD = "bento_stripe.processing.tasks.lookup_held"
#: Task: recompute a re-routed connection's people (``Reroute`` row id).
REROUTE = "bento_stripe.processing.tasks.reroute"
#: Task: send one site's due outbox rows to Bento.
DRAIN_SITE = "bento_stripe.delivery.tasks.drain"
#: Task: queue a drain for every site with due rows.
DELIVERY_SWEEP = "bento_stripe.delivery.tasks.sweep"
#: Task: revoke the app at Stripe after a disconnect (retried by one-off schedules).
DEAUTHORIZE = "bento_stripe.oauth.tasks.deauthorize_account"
#: Task: roll the token pairs of Stripe App connections well before their year runs out.
ROLL_APP_TOKENS = "bento_stripe.stripe_app.tasks.roll_tokens"
#: Task: page through a connection's backfill for a time budget (``StripeAccount`` id).
BACKFILL = "bento_stripe.backfill.tasks.backfill"
#: Task: resume backfills that failed or whose worker died.
BACKFILL_SWEEP = "bento_stripe.backfill.tasks.sweep"
#: Task: queue a reconciliation of every active connection (the nightly schedule).
RECONCILE = "bento_stripe.backfill.tasks.reconcile"
#: Task: remove what is older than RETENTION_DAYS (the nightly schedule).
PRUNE = "bento_stripe.operations.tasks.prune"
#: Task: reconcile one connection with Stripe's events since its last run (``StripeAccount`` id).
RECONCILE_ACCOUNT = "bento_stripe.backfill.tasks.reconcile_account"


@dataclass(frozen=True)
class Recurring:
    """A schedule that must exist once (by name) while the app is installed."""

    name: str
    func: str
    minutes: int


def schedules() -> tuple[Recurring, ...]:
    """The recurring schedules now (reconciliation's interval is a setting)."""
    return (
        *SCHEDULES,
        Recurring("bento_stripe: resume unfinished backfills", BACKFILL_SWEEP, 5),
        Recurring(
            "bento_stripe: reconcile connections with Stripe",
            RECONCILE,
            int(app_settings.RECONCILE_EVERY_MINUTES),
        ),
        Recurring("bento_stripe: prune what retention no longer keeps", PRUNE, 24 * 60),
    )


#: The every-minute schedules the app keeps; created after ``migrate``, repaired when they
#: drift (``schedules()`` adds the backfill's).
SCHEDULES = (
    Recurring("bento_stripe: process waiting Stripe events", PROCESSING_SWEEP, 1),
    Recurring("bento_stripe: look up held people at Stripe", LOOKUP_HELD, 1),
    Recurring("bento_stripe: deliver due outbox rows", DELIVERY_SWEEP, 1),
    Recurring("bento_stripe: roll Stripe App tokens", ROLL_APP_TOKENS, 60),
)

#: Schedules of earlier versions, removed when the current ones are made.
LEGACY_SCHEDULES = (
    "bento_stripe: sweep unprocessed Stripe events",
    "bento_stripe.delivery.sweep",
)


def is_sync() -> bool:
    """Whether tasks run in-process now (``Q_CLUSTER['sync']``, read on every call)."""
    from django_q.conf import Conf

    q_cluster = getattr(settings, "Q_CLUSTER", None) or {}
    return bool(q_cluster.get("sync", False) or Conf.SYNC)


def enqueue(func: str, *args: Any, task_name: str | None = None, group: str | None = None) -> Any:
    """Queue ``func(*args)`` on django-q2 (run at once in sync mode); returns the task id."""
    from django_q.tasks import async_task

    options: dict[str, Any] = {"sync": is_sync()}
    if task_name:
        options["task_name"] = task_name
    if group:
        options["group"] = group
    return async_task(func, *args, **options)


def enqueue_on_commit(func: str, *args: Any, task_name: str | None = None) -> None:
    """Queue a task once the current transaction commits; a broker error is logged, not raised.

    Work that must not be lost also has a durable row a sweep picks up, so a failed
    enqueue only delays it.
    """

    def send() -> None:
        enqueue(func, *args, task_name=task_name)

    transaction.on_commit(send, robust=True)


def schedule_once(func: str, *args: Any, name: str, when: datetime) -> None:
    """Run ``func(*args)`` once at ``when`` (django-q2's ``schedule()``); one row per name."""
    from django_q.models import Schedule
    from django_q.tasks import schedule

    try:
        schedule(func, *args, name=name, schedule_type=Schedule.ONCE, repeats=1, next_run=when)
    except IntegrityError:
        pass  # django-q2 refuses a second schedule of that name: it is already planned


def ensure_schedules() -> None:
    """Create the app's recurring schedules once (idempotent, also when run concurrently)."""
    from django_q.models import Schedule
    from django_q.tasks import schedule

    Schedule.objects.filter(name__in=LEGACY_SCHEDULES).delete()
    for item in schedules():
        existing = Schedule.objects.filter(name=item.name).order_by("pk")
        first = existing.first()
        if first is None:
            try:
                schedule(
                    item.func,
                    name=item.name,
                    schedule_type=Schedule.MINUTES,
                    minutes=item.minutes,
                    repeats=-1,
                )
            except IntegrityError:
                pass  # another process made it between our look and our write
            continue
        # Two processes migrating at once may each have made one: keep the oldest.
        existing.exclude(pk=first.pk).delete()
        if (first.func, first.schedule_type, first.minutes, first.repeats) != (
            item.func,
            Schedule.MINUTES,
            item.minutes,
            -1,
        ):
            first.func, first.schedule_type = item.func, Schedule.MINUTES
            first.minutes, first.repeats = item.minutes, -1
            first.save()


# --- waking the event processing -------------------------------------------------------

_wake_lock = threading.Lock()
_last_wake = -1e9


def wake_processing(*, force: bool = False) -> None:
    """Ask a worker to claim waiting events: at most once per ``PROCESS_WAKE_INTERVAL`` per process.

    A skipped wake-up loses nothing: the task woken less than an interval ago keeps
    polling for ``PROCESS_LINGER`` (longer than the interval) after its last batch, so
    it still sees every event committed before the skip. In sync mode every call
    processes at once.
    """
    global _last_wake
    if not is_sync() and not force:
        now = time.monotonic()
        with _wake_lock:
            if now - _last_wake < float(app_settings.PROCESS_WAKE_INTERVAL):
                return
            _last_wake = now
    enqueue(PROCESS_EVENTS, group="bento_stripe.processing")


def wake_processing_on_commit() -> None:
    """``wake_processing`` once the current transaction commits (never raises)."""
    transaction.on_commit(wake_processing, robust=True)


def drain_sites(site_ids: Iterable[int]) -> None:
    """Queue a drain of each site now (a busy site turns extra drains away)."""
    for site_id in sorted({int(s) for s in site_ids}):
        enqueue(DRAIN_SITE, site_id, task_name=f"bento-drain-site-{site_id}")


def drain_sites_on_commit(site_ids: Iterable[int]) -> None:
    """Queue drains of ``site_ids`` once the current transaction commits (now, outside one)."""
    ids = sorted({int(s) for s in site_ids})
    if ids:
        transaction.on_commit(lambda: drain_sites(ids), robust=True)


# --- gathering delivery ----------------------------------------------------------------


@dataclass
class _Gathering:
    """New outbox rows of one site written by this process since its last drain was queued."""

    since: float
    rows: int = 0


_gather_lock = threading.Lock()
_gathering: dict[int, _Gathering] = {}
#: The clock of gathering (tests replace it).
_clock = time.monotonic


def _gather_due(item: _Gathering, now: float, batch: int) -> bool:
    """Whether a site's gathered rows should go now.

    A full batch goes at once. Otherwise the rows wait ``GATHER_SECONDS``; past that they
    wait on (up to ``GATHER_MAX_SECONDS``) only while the rate they came at fills a batch
    within that time, as in a burst; a trickle goes after the short wait.
    """
    if item.rows >= batch:
        return True
    age = now - item.since
    short = float(app_settings.GATHER_SECONDS)
    longest = max(short, float(app_settings.GATHER_MAX_SECONDS))
    if age < short:
        return False
    if age >= longest:
        return True
    fills_after = batch * age / max(item.rows, 1)  # seconds from ``since`` to a full batch
    return fills_after > longest


def defer_drains(rows_per_site: dict[int, int]) -> None:
    """Queue the sites' drains once their rows have gathered (see ``_gather_due``).

    Called after commit by the processing task, which calls ``fire_due_drains`` as it
    goes and does not stop while rows are gathering. In sync mode, or with
    ``GATHER_SECONDS`` 0, the drains are queued at once.
    """
    if is_sync() or float(app_settings.GATHER_SECONDS) <= 0:
        drain_sites(rows_per_site)
        return
    now = _clock()
    with _gather_lock:
        for site_id, rows in rows_per_site.items():
            item = _gathering.setdefault(int(site_id), _Gathering(since=now))
            item.rows += rows
    fire_due_drains()


def fire_due_drains(*, everything: bool = False) -> bool:
    """Queue the drains whose rows have gathered (all with ``everything``); returns whether
    rows are still gathering."""
    now = _clock()
    batch = int(app_settings.BATCH_SIZE)
    with _gather_lock:
        due = [s for s, item in _gathering.items() if everything or _gather_due(item, now, batch)]
        for site_id in due:
            del _gathering[site_id]
        waiting = bool(_gathering)
    if due:
        try:
            drain_sites(due)
        except Exception:  # the delivery sweep queues them within a minute
            logger.exception("Could not queue delivery of sites %s", sorted(due))
    return waiting

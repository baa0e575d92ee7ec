"""The one place that talks to django-q2: task names, enqueueing, wake-ups and schedules.

Every other module queues work through these functions, so ``sync`` mode (tasks run
in-process, as tests run them) is decided once, here, per call (django-q2's own ``Conf``
reads ``Q_CLUSTER`` once at import, which ``override_settings`` cannot reach).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from .conf import app_settings
from .logs import get_logger

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
#: Task: one delivery loop, serving every site whose rows are due (``delivery.loop``).
DELIVER = "bento_stripe.delivery.tasks.deliver"
#: Task: wake a delivery loop when any site has due rows.
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
            app_settings.RECONCILE_EVERY_MINUTES,
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


#: The kind of work of each task, which decides its django-q2 queue (``QUEUES``).
KIND_OF_TASK = {
    PROCESS_EVENTS: "processing",
    PROCESSING_SWEEP: "processing",
    LOOKUP_HELD: "processing",
    REROUTE: "processing",
    DRAIN_SITE: "delivery",
    DELIVER: "delivery",
    DELIVERY_SWEEP: "delivery",
    DEAUTHORIZE: "processing",
    ROLL_APP_TOKENS: "processing",
    BACKFILL: "backfill",
    BACKFILL_SWEEP: "backfill",
    RECONCILE: "backfill",
    RECONCILE_ACCOUNT: "backfill",
}


def cluster_of(func: str) -> str | None:
    """The django-q2 cluster (queue) a task goes to: ``QUEUES[kind]``, or None for the default."""
    queues = app_settings.QUEUES or {}
    return queues.get(KIND_OF_TASK.get(func, "processing")) or None


def enqueue(func: str, *args: Any, task_name: str | None = None, group: str | None = None) -> Any:
    """Queue ``func(*args)`` on its django-q2 queue (run at once in sync mode); returns the task id."""
    from django_q.tasks import async_task

    options: dict[str, Any] = {"sync": is_sync()}
    cluster = cluster_of(func)
    if cluster:
        options["cluster"] = cluster
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


# --- wake-ups --------------------------------------------------------------------------


def wake_processing(*, force: bool = False) -> None:
    """Ask a processing worker to claim waiting events: at most once per
    ``PROCESS_WAKE_INTERVAL`` across all processes (``wakeups``); ``force`` always wakes.

    A skipped wake-up loses nothing: the task woken less than an interval ago keeps
    polling for ``PROCESS_LINGER`` (longer than the interval) after its last batch, so
    it still sees every event committed before the skip. In sync mode every call
    processes at once.
    """
    from .wakeups import first_in_interval

    if not is_sync() and not force:
        if not first_in_interval("processing", app_settings.PROCESS_WAKE_INTERVAL):
            return
    enqueue(PROCESS_EVENTS, group="bento_stripe.processing")


def wake_processing_on_commit() -> None:
    """``wake_processing`` once the current transaction commits (never raises)."""
    transaction.on_commit(wake_processing, robust=True)


def wake_delivery(*, force: bool = False) -> None:
    """Ask a delivery loop to look at the outbox: at most once per ``DELIVERY_WAKE_INTERVAL``
    across all processes; a loop lingers longer than that after its last send."""
    from .wakeups import first_in_interval

    if not is_sync() and not force:
        if not first_in_interval("delivery", app_settings.DELIVERY_WAKE_INTERVAL):
            return
    enqueue(DELIVER, group="bento_stripe.delivery")


def drain_sites(site_ids: Iterable[int]) -> None:
    """Queue a drain of each site now (a busy site turns extra drains away)."""
    for site_id in sorted({int(s) for s in site_ids}):
        enqueue(DRAIN_SITE, site_id, task_name=f"bento-drain-site-{site_id}")


def drain_sites_on_commit(site_ids: Iterable[int]) -> None:
    """Queue drains of ``site_ids`` once the current transaction commits (now, outside one)."""
    ids = sorted({int(s) for s in site_ids})
    if ids:
        transaction.on_commit(lambda: drain_sites(ids), robust=True)


def defer_drains(rows_per_site: dict[int, int]) -> None:
    """New outbox rows were committed: wake a delivery loop (it decides, from the database,
    when each site's rows go; see ``delivery.loop.ready_sites``). In sync mode the sites
    are drained at once."""
    if is_sync():
        drain_sites(rows_per_site)
        return
    wake_delivery()

"""Health: is the app able to take and forward Stripe money now? (docs/operations/health.rst)

Each check reads one indexed query (or pings one of the app's own services) and says
``ok``, ``degraded`` (it works, a human should look) or ``down`` (it cannot work). The
status is the worst of them. Thresholds are settings (``HEALTH_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max, Min
from django.utils import timezone

from ..conf import app_settings
from ..models import BackfillCursor, OutboxEvent, StripeAccount, StripeEventRecord
from ..models.events import WAITING_STATUSES

OK, DEGRADED, DOWN = "ok", "degraded", "down"
_RANK = {OK: 0, DEGRADED: 1, DOWN: 2}
#: Outbox statuses of rows still to be sent (the partial index ``bento_stripe_outbox_undeliv``).
UNDELIVERED = (OutboxEvent.Status.PENDING, OutboxEvent.Status.SENDING, OutboxEvent.Status.FAILED)
#: Seconds a broker ping may take.
BROKER_TIMEOUT = 2.0


@dataclass
class Check:
    """One check's outcome, as the health endpoint shows it."""

    status: str
    value: Any = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "value": self.value}
        if self.detail:
            body["detail"] = self.detail
        return body


def worst(statuses: Any) -> str:
    """The worst of some statuses (ok < degraded < down)."""
    return max(statuses, key=_RANK.__getitem__, default=OK)


def _age(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else max(0.0, round((now - since).total_seconds(), 1))


def database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return Check(DOWN, False, f"unreachable: {type(error).__name__}")
    return Check(OK, True)


def broker() -> Check:
    """django-q2's broker: Redis is pinged (a short timeout); the ORM broker is the database."""
    cluster = getattr(settings, "Q_CLUSTER", {}) or {}
    if cluster.get("sync"):
        return Check(OK, "sync", "tasks run in-process")
    url = cluster.get("redis")
    if not url:
        return Check(OK, "orm", "the database is the broker")
    try:
        import redis

        client = (
            redis.Redis.from_url(
                url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
            )
            if isinstance(url, str)
            else redis.Redis(**url, socket_timeout=BROKER_TIMEOUT)
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:  # any failure to reach Redis is the answer
        return Check(DEGRADED, "redis", f"unreachable: {type(error).__name__}")
    return Check(OK, "redis")


def scheduler(now: datetime) -> Check:
    """Whether a qcluster runs the app's every-minute schedules (a stopped worker shows here
    even when no event waits): the processing sweep's next run must not lie far behind."""
    from django_q.models import Schedule

    from ..queue import SCHEDULES

    if (getattr(settings, "Q_CLUSTER", {}) or {}).get("sync"):
        return Check(OK, None, "tasks run in-process")
    due = Schedule.objects.filter(name=SCHEDULES[0].name).values_list("next_run", flat=True).first()
    if due is None:
        return Check(DEGRADED, None, "the app's schedules are missing: run manage.py migrate")
    late = _age(due, now) or 0.0
    limit = max(120.0, app_settings.HEALTH_MAX_EVENT_AGE)
    if late > limit:
        return Check(DEGRADED, late, f"schedules {late:.0f}s late: is a qcluster running?")
    return Check(OK, late)


def oldest_waiting_event(now: datetime) -> Check:
    """Age of the oldest event still to be applied (no worker running shows here first)."""
    oldest = (
        StripeEventRecord.objects.filter(status__in=WAITING_STATUSES)
        .order_by("pk")
        .values_list("received_at", flat=True)
        .first()
    )
    age = _age(oldest, now)
    limit = app_settings.HEALTH_MAX_EVENT_AGE
    if age is not None and age > limit:
        return Check(DEGRADED, age, f"older than {limit:g}s: is a worker (qcluster) running?")
    return Check(OK, age)


def oldest_undelivered(now: datetime) -> Check:
    """Age of the oldest outbox row still to be sent to Bento."""
    oldest = (
        OutboxEvent.objects.filter(status__in=UNDELIVERED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    age = _age(oldest, now)
    limit = app_settings.HEALTH_MAX_DELIVERY_AGE
    if age is not None and age > limit:
        return Check(DEGRADED, age, f"older than {limit:g}s: is Bento answering?")
    return Check(OK, age)


def dead_deliveries() -> Check:
    count = OutboxEvent.objects.filter(status=OutboxEvent.Status.DEAD).count()
    if count > app_settings.HEALTH_MAX_DEAD_DELIVERIES:
        return Check(DEGRADED, count, "retry them from the admin or bento_stripe_replay --failed")
    return Check(OK, count)


def failed_events() -> Check:
    """Events whose processing attempts are exhausted (left for a human)."""
    count = StripeEventRecord.objects.filter(
        status=StripeEventRecord.Status.FAILED,
        attempts__gte=app_settings.PROCESS_MAX_ATTEMPTS,
    ).count()
    return Check(DEGRADED if count else OK, count)


def reconnect_needed() -> Check:
    count = StripeAccount.objects.active().filter(needs_reconnect=True).count()
    return Check(
        DEGRADED if count else OK, count, "the team must install the app again" if count else ""
    )


def last_reconciliation(now: datetime) -> Check:
    """When a reconciliation last finished; degraded when connections wait too long for one."""
    last = BackfillCursor.objects.filter(
        resource=BackfillCursor.Resource.EVENTS, finished_at__isnull=False
    ).aggregate(last=Max("finished_at"))["last"]
    limit = app_settings.HEALTH_MAX_RECONCILE_AGE
    value = last.isoformat() if last else None
    if last is not None and (now - last).total_seconds() <= limit:
        return Check(OK, value)
    first = StripeAccount.objects.active().aggregate(first=Min("connected_at"))["first"]
    if first is None or (now - first).total_seconds() <= limit:
        return Check(OK, value)  # no connection old enough to have needed one yet
    return Check(DEGRADED, value, f"none finished in {limit:g}s: is the schedule running?")


def run_checks(now: datetime | None = None) -> tuple[str, dict[str, Check]]:
    """The overall status and each check; when the database is down nothing else is read."""
    now = now or timezone.now()
    checks = {"database": database()}
    if checks["database"].status != DOWN:
        checks.update(
            broker=broker(),
            scheduler_late_seconds=scheduler(now),
            oldest_waiting_event_seconds=oldest_waiting_event(now),
            oldest_undelivered_seconds=oldest_undelivered(now),
            dead_deliveries=dead_deliveries(),
            failed_events=failed_events(),
            connections_to_reconnect=reconnect_needed(),
            last_reconciliation=last_reconciliation(now),
        )
    return worst(c.status for c in checks.values()), checks

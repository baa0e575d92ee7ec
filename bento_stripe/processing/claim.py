"""The recorded events table is the queue: workers claim one connection's waiting events.

A claim is a lease: the worker's id and an expiry written on the events. A worker
killed mid-batch leaves its claim to lapse, and the events are claimed again. Claims go
to the connection whose oldest waiting event is oldest, skipping connections another
worker is applying right now, so two workers never queue up behind one account lock.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..backoff import Rng, full_jitter
from ..conf import app_settings
from ..models import StripeEventRecord
from ..models.events import WAITING_STATUSES


def waiting() -> Q:
    """Events still to be applied (received, or failed with attempts left)."""
    return Q(status=StripeEventRecord.Status.RECEIVED) | Q(
        status=StripeEventRecord.Status.FAILED,
        attempts__lt=app_settings.PROCESS_MAX_ATTEMPTS,
    )


def available(now: datetime) -> Q:
    """Waiting events nobody holds (never claimed, claim lapsed, or retry time reached)."""
    return waiting() & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))


def has_available(now: datetime | None = None) -> bool:
    """Whether any event waits for a worker now."""
    return StripeEventRecord.objects.filter(available(now or timezone.now())).exists()


def claim(owner: str, size: int, now: datetime | None = None) -> list[StripeEventRecord]:
    """Claim up to ``size`` waiting events of one (account, mode), oldest first, for ``owner``."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _claim_in_one_statement(owner, size, now)
    queue = StripeEventRecord.objects.filter(status__in=WAITING_STATUSES)
    with transaction.atomic():
        busy = set(
            queue.filter(claimed_until__gt=now)
            .exclude(claim_owner="")
            .values_list("stripe_account_id", "livemode")
            .distinct()
        )
        heads = queue.filter(available(now))
        for account_id, livemode in busy:
            heads = heads.exclude(stripe_account_id=account_id, livemode=livemode)
        head = heads.order_by("pk").values_list("stripe_account_id", "livemode").first()
        if head is None:
            return []
        batch = queue.filter(available(now), stripe_account_id=head[0], livemode=head[1])
        batch = batch.order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            batch = batch.select_for_update(skip_locked=True)
        ids = list(batch.values_list("pk", flat=True)[:size])
        if not ids:
            return []
        lease = now + timedelta(seconds=app_settings.PROCESS_LEASE_SECONDS)
        StripeEventRecord.objects.filter(pk__in=ids).update(claim_owner=owner, claimed_until=lease)
    return list(StripeEventRecord.objects.filter(pk__in=ids, claim_owner=owner).order_by("pk"))


def retry_delay(attempts: int, rng: Rng = random) -> float:
    """Seconds before a failed event is tried again: the app's backoff (``backoff``), from 5
    seconds to an hour, never sooner than 5 seconds (a failed event is not claimed again at
    once, while the worker that failed it may still be claiming)."""
    return full_jitter(attempts, base=5.0, cap=3600.0, minimum=5.0, rng=rng)


def fail(record: StripeEventRecord, error: BaseException) -> None:
    """Record a failed attempt; the event is claimed again after a backoff, until attempts run out."""
    attempts = record.attempts + 1
    StripeEventRecord.objects.filter(pk=record.pk).exclude(
        status__in=[StripeEventRecord.Status.PROCESSED, StripeEventRecord.Status.IGNORED]
    ).update(
        status=StripeEventRecord.Status.FAILED,
        note=f"{type(error).__name__}: {error}"[:2000],
        attempts=F("attempts") + 1,
        claim_owner="",
        claimed_until=timezone.now() + timedelta(seconds=retry_delay(attempts)),
    )


def finish(records: list[StripeEventRecord], status: str, note: str) -> None:
    """Mark events done without a unit of work (not routed anywhere)."""
    StripeEventRecord.objects.filter(pk__in=[r.pk for r in records]).update(
        status=status,
        note=note[:2000],
        processed_at=timezone.now(),
        attempts=F("attempts") + 1,
        claim_owner="",
        claimed_until=None,
    )


#: The claim above as one statement (PostgreSQL): the busy connections, the head, the
#: events under ``FOR UPDATE SKIP LOCKED``, the lease written and the rows read back, in
#: one round trip instead of seven (a claim starts every cycle of a processing worker).
_CLAIM_SQL = """
WITH busy AS (
    SELECT DISTINCT {account}, {livemode} FROM {table}
    WHERE {status} = ANY(%(waiting)s) AND {claimed_until} > %(now)s AND {owner} <> ''
), available AS (
    SELECT {pk}, {account}, {livemode} FROM {table}
    WHERE ({status} = %(received)s OR ({status} = %(failed)s AND {attempts} < %(max_attempts)s))
      AND ({claimed_until} IS NULL OR {claimed_until} <= %(now)s)
), head AS (
    SELECT {account}, {livemode} FROM available
    WHERE ({account}, {livemode}) NOT IN (SELECT {account}, {livemode} FROM busy)
    ORDER BY {pk} LIMIT 1
), picked AS (
    -- The conditions stand on the locked table itself, not on a CTE: a row another worker
    -- claimed and committed since this statement began is checked again in its new
    -- version (PostgreSQL's recheck of a locked row) and skipped.
    SELECT {pk} FROM {table}
    WHERE ({status} = %(received)s OR ({status} = %(failed)s AND {attempts} < %(max_attempts)s))
      AND ({claimed_until} IS NULL OR {claimed_until} <= %(now)s)
      AND ({account}, {livemode}) = (SELECT {account}, {livemode} FROM head)
    ORDER BY {pk} LIMIT %(size)s FOR UPDATE SKIP LOCKED
)
UPDATE {table} SET {owner} = %(owner)s, {claimed_until} = %(lease)s
WHERE {pk} IN (SELECT {pk} FROM picked)
RETURNING {columns}
"""


def _claim_in_one_statement(owner: str, size: int, now: datetime) -> list[StripeEventRecord]:
    meta = StripeEventRecord._meta
    quote = connection.ops.quote_name

    columns = {f.name: str(f.column) for f in meta.concrete_fields}

    def column(name: str) -> str:
        return quote(columns[name])

    sql = _CLAIM_SQL.format(
        table=quote(meta.db_table),
        pk=column("id"),
        account=column("stripe_account_id"),
        livemode=column("livemode"),
        status=column("status"),
        attempts=column("attempts"),
        claimed_until=column("claimed_until"),
        owner=column("claim_owner"),
        columns=", ".join(quote(str(f.column)) for f in meta.concrete_fields),
    )
    params = {
        "waiting": list(WAITING_STATUSES),
        "now": now,
        "received": StripeEventRecord.Status.RECEIVED.value,
        "failed": StripeEventRecord.Status.FAILED.value,
        "max_attempts": app_settings.PROCESS_MAX_ATTEMPTS,
        "size": size,
        "owner": owner,
        "lease": now + timedelta(seconds=app_settings.PROCESS_LEASE_SECONDS),
    }
    # One statement is atomic on its own: the row locks last until the lease is written.
    records = list(StripeEventRecord.objects.raw(sql, params))
    return sorted(records, key=lambda r: r.pk)

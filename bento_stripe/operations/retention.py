"""Retention: what the app no longer needs is removed in small transactions.

Three tables grow with traffic. Each is pruned by rows older than the retention window:

- event records that are processed or ignored are first *compacted*: the payload, the
  note and the kept webhook request go, the row with its unique Stripe event id stays,
  so a redelivered event still meets the unique constraint at ingest (no extra query in
  the webhook request). Compact rows are deleted ``RETENTION_DAYS`` (the configured
  value, whatever ``days`` a run is given) after they were compacted;
- outbox rows that were delivered or skipped;
- dj-stripe's webhook requests (``WebhookEventTrigger``): refused ones, and verified ones
  kept by ``KEEP_WEBHOOK_TRIGGERS``;
- the items the ledger keeps of invoices (``LedgerInvoice``) that did not change within
  the window, unless an event record still waiting to be processed names the invoice or
  its payment (its charge's event will want them; docs/reference/events.rst).

Waiting, failed, held and dead rows are never touched. Each batch is one short
transaction of at most ``PRUNE_BATCH_SIZE`` rows, so no busy table is locked for long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from djstripe.models import WebhookEventTrigger

from ..conf import app_settings
from ..ledger.invoices import named_by
from ..models import LedgerInvoice, OutboxEvent, StripeEventRecord
from ..models.events import WAITING_STATUSES

#: Event record statuses that are finished (their payload is no longer needed).
FINISHED_EVENTS = (StripeEventRecord.Status.PROCESSED, StripeEventRecord.Status.IGNORED)
#: Outbox statuses that are finished (sent, or deliberately not sent).
FINISHED_DELIVERIES = (OutboxEvent.Status.DELIVERED, OutboxEvent.Status.SKIPPED)
#: Waiting events naming more invoices or payments than this put off pruning invoice items.
MAX_WAITING_NAMES = 2000
#: Names of what a prune reports, in the order it runs.
TABLES = (
    "event records compacted",
    "compact event records deleted",
    "deliveries deleted",
    "webhook requests deleted",
    "invoice items deleted",
)


@dataclass
class PruneReport:
    """Rows removed (or, in a dry run, that would be) per table."""

    cutoff: datetime
    dedupe_cutoff: datetime
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def retention_days() -> int:
    """The configured retention (the system check refuses less than 4 days)."""
    return app_settings.RETENTION_DAYS


def _in_batches(
    select: Callable[[], QuerySet], change: Callable[[list[int]], int], size: int
) -> int:
    """Select up to ``size`` primary keys and change them in one transaction, until none
    are left; ``change`` re-applies the selection's conditions, so a row that moved on
    since it was selected is left alone. Returns how many rows changed."""
    done = 0
    while True:
        pks = list(select().order_by("pk").values_list("pk", flat=True)[:size])
        if not pks:
            return done
        with transaction.atomic():
            changed = change(pks)
        done += changed
        if len(pks) < size:
            return done


def prunable_events(cutoff: datetime) -> QuerySet[StripeEventRecord]:
    """Finished event records received before ``cutoff`` and not compacted yet."""
    return StripeEventRecord.objects.filter(
        status__in=FINISHED_EVENTS, pruned_at__isnull=True, received_at__lt=cutoff
    )


def compact_rows(dedupe_cutoff: datetime) -> QuerySet[StripeEventRecord]:
    """Compact records whose dedupe time is over (compacted before ``dedupe_cutoff``)."""
    return StripeEventRecord.objects.filter(pruned_at__lt=dedupe_cutoff)


def prunable_deliveries(cutoff: datetime) -> QuerySet[OutboxEvent]:
    """Delivered or skipped outbox rows made before ``cutoff``."""
    return OutboxEvent.objects.filter(status__in=FINISHED_DELIVERIES, created_at__lt=cutoff)


def prunable_invoices(cutoff: datetime) -> QuerySet[LedgerInvoice]:
    """Invoice items unchanged since before ``cutoff`` that no waiting event names."""
    waiting = StripeEventRecord.objects.filter(status__in=WAITING_STATUSES)
    objects = []
    for payload in waiting.values_list("payload", flat=True).iterator():
        obj = ((payload or {}).get("data") or {}).get("object")
        if isinstance(obj, dict):
            objects.append(obj)
    needed = named_by(objects)
    if len(needed) > MAX_WAITING_NAMES:
        # A backlog waits: its events may want these items, and so many ids would not fit
        # one statement. They are pruned on a night the backlog is gone.
        return LedgerInvoice.objects.none()
    return (
        LedgerInvoice.objects.filter(updated_at__lt=cutoff)
        .exclude(invoice_id__in={n.invoice for n in needed if n.invoice})
        .exclude(charge_id__in={n.charge for n in needed if n.charge})
        .exclude(payment_intent_id__in={n.payment_intent for n in needed if n.payment_intent})
    )


def compact(pks: list[int], now: datetime | None = None) -> int:
    """Strip event records to what dedupe needs; returns how many (finished ones only)."""
    now = now or timezone.now()
    return StripeEventRecord.objects.filter(
        pk__in=pks, status__in=FINISHED_EVENTS, pruned_at__isnull=True
    ).update(payload={}, note="", trigger=None, site=None, pruned_at=now)


def _prune_triggers(cutoff: datetime, size: int, dry_run: bool) -> int:
    """Delete (count) webhook requests made before ``cutoff``.

    dj-stripe's table has no index on ``created``: requests are read in primary key
    order (which follows arrival) and the walk stops at the first recent one, so it
    costs the rows it removes, never a scan of the table.
    """
    if dry_run:
        # Counted in the same order the prune walks (stops at the first recent request).
        count, last = 0, 0
        while True:
            rows = list(
                WebhookEventTrigger.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "created")[:size]
            )
            old = [pk for pk, created in rows if created < cutoff]
            count += len(old)
            if not rows or len(old) < len(rows):
                return count
            last = rows[-1][0]
    done = 0
    while True:
        rows = list(WebhookEventTrigger.objects.order_by("pk").values_list("pk", "created")[:size])
        old = []
        for pk, created in rows:
            if created >= cutoff:
                break
            old.append(pk)
        if not old:
            return done
        with transaction.atomic():
            deleted, _per_model = WebhookEventTrigger.objects.filter(
                pk__in=old, created__lt=cutoff
            ).delete()
        done += len(old) if deleted else 0
        if len(old) < len(rows) or len(rows) < size:
            return done


def prune(
    days: int | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    batch_size: int | None = None,
) -> PruneReport:
    """Remove what is older than ``days`` (default ``RETENTION_DAYS``); see the module doc.

    Compact event records are deleted ``RETENTION_DAYS`` after they were compacted,
    whatever ``days`` says, so a Stripe event id is never processed twice.
    """
    now = now or timezone.now()
    days = retention_days() if days is None else int(days)
    if days < 0:
        raise ValueError("days must be 0 or more")
    size = batch_size or app_settings.PRUNE_BATCH_SIZE
    report = PruneReport(
        cutoff=now - timedelta(days=days),
        dedupe_cutoff=now - timedelta(days=retention_days()),
        dry_run=dry_run,
    )
    cutoff, dedupe_cutoff = report.cutoff, report.dedupe_cutoff
    counts = report.counts
    if dry_run:
        counts["event records compacted"] = prunable_events(cutoff).count()
        counts["compact event records deleted"] = compact_rows(dedupe_cutoff).count()
        counts["deliveries deleted"] = prunable_deliveries(cutoff).count()
        counts["webhook requests deleted"] = _prune_triggers(cutoff, size, True)
        counts["invoice items deleted"] = prunable_invoices(cutoff).count()
        return report
    # Compact rows older than the dedupe window go first, so this run's compacted rows
    # (dated now) are never among them.
    counts["compact event records deleted"] = _in_batches(
        lambda: compact_rows(dedupe_cutoff),
        lambda pks: compact_rows(dedupe_cutoff).filter(pk__in=pks).delete()[0],
        size,
    )
    counts["event records compacted"] = _in_batches(
        lambda: prunable_events(cutoff), lambda pks: compact(pks, now), size
    )
    counts["deliveries deleted"] = _in_batches(
        lambda: prunable_deliveries(cutoff),
        lambda pks: prunable_deliveries(cutoff).filter(pk__in=pks).delete()[0],
        size,
    )
    counts["webhook requests deleted"] = _prune_triggers(cutoff, size, False)
    invoices = prunable_invoices(cutoff)  # what waits is read once, before the batches
    counts["invoice items deleted"] = _in_batches(
        lambda: invoices, lambda pks: invoices.filter(pk__in=pks).delete()[0], size
    )
    return report

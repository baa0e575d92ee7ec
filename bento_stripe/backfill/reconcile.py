"""Reconciliation: Stripe's events list since the last run, applied to the ledger quietly.

Stripe keeps an account's events for 30 days and lists them whether or not their
webhook was delivered (https://docs.stripe.com/api/events/list), so replaying them heals
what a missed delivery left wrong. Each event goes through its translator exactly as a
webhook would, in a fields-only unit of work: the Bento events it gives are dropped and
only the corrected fields go out (``/batch/subscribers``). Versions keep it idempotent: an
event the ledger already applied changes nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import stripe
from django.utils import timezone

from ..conf import app_settings
from ..ledger.parse import UnreadableObject
from ..ledger.people import FieldChange
from ..models import BackfillCursor, StripeAccount
from ..processing.events import translator_of
from ..processing.unit import UnitOfWork
from ..translators.base import TranslationContext
from .pages import Backoff, fetch_page
from .resources import PAGE_SIZE

logger = logging.getLogger("bento_stripe.backfill")

State = BackfillCursor.State
#: Seconds of overlap with the previous run (events created while it was reading).
OVERLAP = 300


@dataclass(frozen=True)
class Correction:
    """One field of one person that reconciliation changed."""

    email: str
    field: str
    old: Any
    new: Any


@dataclass
class Report:
    """What a reconciliation read and what it corrected."""

    account: StripeAccount
    since: int
    events: int = 0
    corrections: list[Correction] = field(default_factory=list)


def corrections_of(changes: list[FieldChange]) -> list[Correction]:
    """The per-field differences of people's field changes (a field gone reads ``None``)."""
    found: list[Correction] = []
    for change in changes:
        old, new = change.old or {}, change.new or {}
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                found.append(Correction(change.email, key, old.get(key), new.get(key)))
    return found


def _since(cursor: BackfillCursor | None, account: StripeAccount) -> int:
    """Where this run starts: the previous run's start (minus an overlap), else the
    connection's start, else ``RECONCILE_FIRST_WINDOW`` seconds ago."""
    if cursor is not None and cursor.started_at is not None:
        return int(cursor.started_at.timestamp()) - OVERLAP
    if account.connected_at is not None:
        return int(account.connected_at.timestamp()) - OVERLAP
    first = timezone.now() - timedelta(seconds=int(app_settings.RECONCILE_FIRST_WINDOW))
    return int(first.timestamp())


def reconcile(account: StripeAccount, *, backoff: Backoff | None = None) -> Report:
    """Replay the account's Stripe events since the last run into the ledger; the fields
    that changed go to Bento. Raises Stripe's error when a page cannot be read (the next
    run starts from the same point)."""
    previous = BackfillCursor.objects.filter(
        account=account, resource=BackfillCursor.Resource.EVENTS
    ).first()
    since = _since(previous, account)
    started = timezone.now()
    cursor, _ = BackfillCursor.objects.update_or_create(
        account=account,
        resource=BackfillCursor.Resource.EVENTS,
        defaults={"state": State.RUNNING, "since": since, "last_error": ""},
    )
    report = Report(account, since)
    starting_after = ""
    pages = 0
    try:
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE, "created": {"gte": since}}
            if starting_after:
                params["starting_after"] = starting_after
            page = fetch_page(account, "events", params, backoff=backoff)
            changes = _apply(account, page.objects, f"reconcile:{cursor.pk}:{time.time_ns()}")
            report.events += len(page.objects)
            report.corrections.extend(corrections_of(changes))
            pages += 1
            if not page.has_more or not page.objects:
                break
            starting_after = page.last_id
    except stripe.StripeError as error:
        BackfillCursor.objects.filter(pk=cursor.pk).update(
            state=State.FAILED,
            last_error=f"Stripe answered {error.http_status or 'nothing'}: {error.user_message}",
        )
        raise
    BackfillCursor.objects.filter(pk=cursor.pk).update(
        state=State.DONE,
        started_at=started,
        finished_at=timezone.now(),
        objects_done=report.events,
        pages_done=pages,
        run=cursor.run + 1,
    )
    return report


def _apply(account: StripeAccount, events: list[dict], prefix: str) -> list[FieldChange]:
    """Apply a page of events through their translators in one fields-only unit."""
    with UnitOfWork(account, fields_only=prefix) as uow:
        if not uow.account.is_active:
            return []
        for event in events:
            if event.get("livemode") != uow.account.livemode:
                continue
            kind = str(event.get("type") or "")
            translate = translator_of(kind)
            if translate is None or kind.startswith("account."):
                continue  # a deauthorization is the webhook's to apply, with its checks
            uow.ledger.at(int(event["created"]), str(event["id"]))
            ctx = TranslationContext(
                event=event, account=uow.account, site=uow.site, ledger=uow.ledger
            )
            try:
                translate(ctx)  # its Bento events are dropped: reconciliation only sets fields
            except UnreadableObject as error:
                logger.info("Reconciliation skipped event %s: %s", event.get("id"), error)
    return uow.changes.field_changes

"""Reconciliation: Stripe's events list since the last run, applied to the ledger quietly.

Stripe keeps an account's events for 30 days and lists them whether or not their
webhook was delivered (https://docs.stripe.com/api/events/list), so replaying them heals
what a missed delivery left wrong. Each event goes through its translator exactly as a
webhook would, in a fields-only unit of work: the Bento events it gives are dropped and
only the corrected fields go out (``/batch/subscribers``). Versions keep it idempotent: an
event the ledger already applied changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import stripe
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..conf import app_settings
from ..exceptions import ReconnectNeeded
from ..ledger.parse import UnreadableObject
from ..ledger.people import FieldChange
from ..logs import get_logger
from ..models import BackfillCursor, StripeAccount
from ..operations.erasure import ErasureGuard
from ..processing.events import translator_of
from ..processing.unit import UnitOfWork
from ..translators.base import TranslationContext
from .pages import Backoff, Page, fetch_page
from .resources import PAGE_SIZE

logger = get_logger("bento_stripe.backfill")

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
    #: Whether the run read its last page (False: stopped at its time budget).
    finished: bool = False


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
    """Where a new run starts: the previous finished run's start (minus an overlap), else
    the connection's start, else ``RECONCILE_FIRST_WINDOW`` seconds ago."""
    if cursor is not None and cursor.started_at is not None and cursor.finished_at is not None:
        return int(cursor.started_at.timestamp()) - OVERLAP
    if account.connected_at is not None:
        return int(account.connected_at.timestamp()) - OVERLAP
    first = timezone.now() - timedelta(seconds=app_settings.RECONCILE_FIRST_WINDOW)
    return int(first.timestamp())


def _begin(account: StripeAccount) -> BackfillCursor:
    """The run to work on: the one under way (running, or failed on a page), else a new one."""
    with transaction.atomic():
        cursor = (
            BackfillCursor.objects.select_for_update()
            .filter(account=account, resource=BackfillCursor.Resource.EVENTS)
            .first()
        )
        if cursor is not None and cursor.state in (State.RUNNING, State.FAILED):
            return cursor
        since = _since(cursor, account)
        cursor, _ = BackfillCursor.objects.update_or_create(
            account=account,
            resource=BackfillCursor.Resource.EVENTS,
            defaults={
                "state": State.RUNNING,
                "since": since,
                "starting_after": "",
                "started_at": timezone.now(),
                "finished_at": None,
                "objects_done": 0,
                "pages_done": 0,
                "attempts": 0,
                "last_error": "",
                "run": (cursor.run + 1) if cursor is not None else 1,
            },
        )
        return cursor


def reconcile(
    account: StripeAccount, *, budget: float | None = None, backoff: Backoff | None = None
) -> Report:
    """Replay the account's Stripe events since the last run into the ledger; the fields
    that changed go to Bento.

    Page by page, each page and the run's cursor in one transaction; with ``budget``
    (seconds) it stops after the page that reaches it (``report.finished`` False) and the
    next call goes on from there. Stripe's error is raised when a page cannot be read
    (the run is marked failed and the next call tries that page again).
    """
    cursor = _begin(account)
    report = Report(account, cursor.since)
    deadline = None if budget is None else time.monotonic() + budget
    try:
        while True:
            params: dict[str, Any] = {"limit": PAGE_SIZE, "created": {"gte": cursor.since}}
            if cursor.starting_after:
                params["starting_after"] = cursor.starting_after
            page = fetch_page(account, "events", params, backoff=backoff)
            prefix = f"reconcile:{cursor.pk}:{cursor.run}:{cursor.pages_done}"
            changes = _apply(account, cursor, page, prefix)
            report.events += len(page.objects)
            report.corrections.extend(corrections_of(changes))
            if cursor.state == State.DONE:
                report.finished = True
                return report
            if deadline is not None and time.monotonic() >= deadline:
                return report
    except stripe.StripeError as error:
        BackfillCursor.objects.filter(pk=cursor.pk).update(
            state=State.FAILED,
            attempts=F("attempts") + 1,
            last_error=f"Stripe answered {error.http_status or 'nothing'}: {error.user_message}",
        )
        raise
    except ReconnectNeeded:
        BackfillCursor.objects.filter(pk=cursor.pk).update(
            state=State.FAILED,
            attempts=F("attempts") + 1,
            last_error="The connection needs to be connected again (its Stripe App token).",
        )
        raise


def _apply(
    account: StripeAccount, cursor: BackfillCursor, page: Page, prefix: str
) -> list[FieldChange]:
    """Apply a page of events through their translators in one fields-only unit, and move
    the run's cursor in the same transaction."""
    with UnitOfWork(account, fields_only=prefix) as uow:
        if uow.account.is_active:
            erased = ErasureGuard(uow.account)  # an erased person is not rebuilt
            for event in page.objects:
                obj = (event.get("data") or {}).get("object")
                if erased and isinstance(obj, dict) and erased.blocks(obj, lift=False):
                    continue
                _replay(uow, event)
        cursor.starting_after = page.last_id or cursor.starting_after
        cursor.objects_done += len(page.objects)
        cursor.pages_done += 1
        cursor.attempts = 0
        cursor.last_error = ""
        if not page.has_more or not page.objects or not uow.account.is_active:
            cursor.state = State.DONE
            cursor.finished_at = timezone.now()
        else:
            cursor.state = State.RUNNING
        cursor.save()
    return uow.changes.field_changes


def _replay(uow: UnitOfWork, event: dict) -> None:
    """One event through its translator, as a webhook would; its Bento events are dropped."""
    if event.get("livemode") != uow.account.livemode:
        return
    kind = str(event.get("type") or "")
    translate = translator_of(kind)
    if translate is None or kind.startswith("account."):
        return  # a deauthorization is the webhook's to apply, with its checks
    uow.ledger.at(int(event["created"]), str(event["id"]))
    ctx = TranslationContext(event=event, account=uow.account, site=uow.site, ledger=uow.ledger)
    try:
        translate(ctx)
    except UnreadableObject as error:
        logger.info(
            "Reconciliation skipped event %s: %s",
            event.get("id"),
            error,
            event=event.get("id"),
            account=uow.account.stripe_user_id,
        )

"""One page of one resource of a backfill, applied through the unit of work."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import stripe
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..conf import app_settings
from ..exceptions import ReconnectNeeded
from ..ledger.ids import ObjectIds
from ..ledger.parse import object_id
from ..ledger.people import account_emails_after
from ..ledger.versions import read_version
from ..logs import get_logger
from ..models import BackfillCursor, StripeAccount
from ..operations.erasure import ErasureGuard
from ..processing import lookup, products
from ..processing.unit import UnitOfWork
from .pages import Backoff, Page, fetch_page
from .resources import ORDER, RESOURCES

logger = get_logger("bento_stripe.backfill")

State = BackfillCursor.State


@dataclass
class Step:
    """What one step did: the cursor after it, and how many objects it applied."""

    cursor: BackfillCursor
    objects: int = 0
    #: Why nothing was applied ("" when a page was): done, stopped, failed, raced.
    outcome: str = ""


class Coupons:
    """Coupons looked up at Stripe by id, once per run (discounts may name them by id only)."""

    def __init__(self, account: StripeAccount) -> None:
        self.account = account
        self.found: dict[str, dict | None] = {}

    def get(self, coupon_id: str) -> dict | None:
        if coupon_id not in self.found:
            self.found[coupon_id] = lookup.fetch(self.account, "coupon", coupon_id)
        return self.found[coupon_id]

    def inline(self, discount: Any) -> None:
        """Put the coupon a discount names by id into it (``coupon`` or ``source.coupon``)."""
        if not isinstance(discount, dict):
            return
        for holder in (discount, discount.get("source")):
            if isinstance(holder, dict) and isinstance(holder.get("coupon"), str):
                coupon = self.get(holder["coupon"])
                if coupon is not None:
                    holder["coupon"] = coupon

    def inline_object(self, obj: dict) -> None:
        """Every discount of a customer or subscription (and its items), coupons inline."""
        self.inline(obj.get("discount"))
        for discount in _listed(obj.get("discounts")):
            self.inline(discount)
        for item in _listed(obj.get("items")):
            if isinstance(item, dict):
                for discount in _listed(item.get("discounts")):
                    self.inline(discount)


def _listed(value: Any) -> list:
    if isinstance(value, dict):
        value = value.get("data")
    return value if isinstance(value, list) else []


def first_open(account: StripeAccount) -> BackfillCursor | None:
    """The account's backfill cursor to work on next (resource order), if any.

    A list that gave up (failed ``BACKFILL_MAX_ATTEMPTS`` times) is passed over, so that
    the last step still gives everyone what the other lists brought; it stays failed
    (the backfill shows it), and starting the backfill again reads every list again.
    """
    cursors = {
        c.resource: c
        for c in BackfillCursor.objects.filter(account=account, resource__in=ORDER)
        if c.is_open and not gave_up(c)
    }
    return next((cursors[r] for r in ORDER if r in cursors), None)


def gave_up(cursor: BackfillCursor) -> bool:
    """Whether a list's cursor failed as many times as it may (the sweep retries no more)."""
    return (
        cursor.state == State.FAILED
        and cursor.resource != BackfillCursor.Resource.PEOPLE
        and cursor.attempts >= app_settings.BACKFILL_MAX_ATTEMPTS
    )


def step(
    cursor: BackfillCursor,
    *,
    backoff: Backoff | None = None,
    coupons: Coupons | None = None,
    clock: Callable[[], float] = time.time,
) -> Step:
    """Read the cursor's next pages and apply them with the cursor's move, in one transaction.

    Pages (Stripe's, ``limit=100``) are read until they hold ``BACKFILL_UNIT_OBJECTS``
    objects or the list ends, and applied in one unit of work: a page is never split
    between two. A Stripe error that outlasts the retries applies the pages read before
    it, then marks the cursor failed (with the error) and is raised; the failed page is
    read again by the next attempt. Pages read by two workers at once are applied by the
    first only.
    """
    account = cursor.account
    if not account.is_active:
        stop_cursors(account)
        cursor.refresh_from_db()
        return Step(cursor, outcome="stopped")
    if not cursor.is_open:
        return Step(cursor, outcome=cursor.state)
    if cursor.state != State.RUNNING or cursor.started_at is None:
        BackfillCursor.objects.filter(pk=cursor.pk).update(
            state=State.RUNNING, started_at=cursor.started_at or timezone.now()
        )
    if cursor.resource == BackfillCursor.Resource.PEOPLE:
        return people_step(cursor)
    resource = RESOURCES[cursor.resource]
    pages: list[tuple[Page, float]] = []
    after, objects = cursor.starting_after, 0
    failure: tuple[Exception, str] | None = None
    while True:
        # The version of what a page shows: the time *before* asking, so that any webhook
        # about a change made while Stripe answered is newer and wins (ledger/versions.py).
        read_at = clock()
        try:
            page = fetch_page(
                account, resource.name, resource.params(after, cursor.since), backoff=backoff
            )
        except stripe.StripeError as error:
            http = error.http_status or "nothing"
            failure = (error, f"Stripe answered {http}: {error.user_message}")
            break
        except ReconnectNeeded as error:
            # A Stripe App connection whose grant Stripe refused: Reconnect resumes it.
            failure = (error, "The connection needs to be connected again (its Stripe App token).")
            break
        pages.append((page, read_at))
        after, objects = page.last_id or after, objects + len(page.objects)
        if not page.has_more or objects >= app_settings.BACKFILL_UNIT_OBJECTS:
            break
    result = Step(cursor)
    if pages:
        result = apply_pages(cursor, pages, resource.kind, coupons or Coupons(account))
    if failure is not None:
        fail(result.cursor, failure[1])
        raise failure[0]
    return result


def apply_pages(
    cursor: BackfillCursor, pages: list[tuple[Page, float]], kind: str, coupons: Coupons
) -> Step:
    """Apply pages' objects (each versioned by when its page was read) and move the cursor
    past the last, in one unit of work."""
    snapshots = []
    ids = ObjectIds()
    for page, read_at in pages:
        version = read_version(read_at)
        for obj in page.objects:
            if kind in ("customer", "subscription"):
                coupons.inline_object(obj)
            snapshots.append((kind, obj, version))
            ids.add_object(obj)
    objects = [obj for _, obj, _ in snapshots]
    last = pages[-1][0]
    # The people this unit touches are recomputed once each by the last step (people),
    # not here after every unit: with five charges a person, that was five times. A
    # backfill begun before that step existed has no cursor for it, and recomputes here.
    # Subscriptions' units recompute theirs (about once a person): a live event's MRR
    # move is measured against the stored fields, which must show every subscription
    # once the list is read, or a renewal would look like new MRR.
    defer = (
        kind != "subscription"
        and BackfillCursor.objects.filter(
            account_id=cursor.account_id,
            resource=BackfillCursor.Resource.PEOPLE,
            state__in=BackfillCursor.OPEN_STATES,
        ).exists()
    )
    with UnitOfWork(cursor.account, fields_only=_prefix(cursor), defer_people=defer) as uow:
        locked, ended = _lock(cursor, uow)
        if ended is not None:
            return ended
        uow.ledger.preload(ids)
        if kind == "invoice":
            products.preload_invoices(uow.ledger, objects)
        elif kind in ("product", "price"):  # else one query per product or price
            uow.ledger.catalogue.preload(*_catalogue_ids(kind, objects))
        erased = ErasureGuard(uow.account)  # an erased person is not rebuilt from history
        if erased:
            snapshots = [s for s in snapshots if not erased.blocks(s[1], lift=False)]
        applied = uow.apply_snapshots(snapshots)
        locked.starting_after = next(
            (p.last_id for p, _ in reversed(pages) if p.last_id), locked.starting_after
        )
        locked.objects_done += applied
        locked.pages_done += len(pages)
        locked.attempts = 0
        locked.last_error = ""
        locked.state = State.RUNNING if last.has_more else State.DONE
        if not last.has_more:
            locked.finished_at = timezone.now()
        locked.save()
    return Step(locked, objects=applied)


def _catalogue_ids(kind: str, objects: list[dict]) -> tuple[set[str], set[str]]:
    """The product and price ids a page of products or prices names (expanded or not)."""
    if kind == "product":
        return {object_id(o) for o in objects}, set()
    products = {object_id(o.get("product")) for o in objects}
    return products, {object_id(o) for o in objects}


def people_step(cursor: BackfillCursor) -> Step:
    """The backfill's last step: the next ``BACKFILL_UNIT_OBJECTS`` people of the
    connection's ledger (by email), their fields recomputed on its site and queued for
    Bento where they changed, with the cursor's move (the last email), in one unit."""
    size = app_settings.BACKFILL_UNIT_OBJECTS
    with UnitOfWork(cursor.account, fields_only=_prefix(cursor)) as uow:
        locked, ended = _lock(cursor, uow)
        if ended is not None:
            return ended
        emails = account_emails_after(uow.account, locked.starting_after, size)
        uow.recompute(uow.site, emails)
        locked.starting_after = emails[-1] if emails else locked.starting_after
        locked.objects_done += len(emails)
        locked.pages_done += 1
        locked.attempts = 0
        locked.last_error = ""
        if len(emails) < size:
            locked.state = State.DONE
            locked.finished_at = timezone.now()
        else:
            locked.state = State.RUNNING
        locked.save()
    return Step(locked, objects=len(emails))


def _prefix(cursor: BackfillCursor) -> str:
    """The dedupe prefix of a unit's ``/batch/subscribers`` rows: one per cursor position."""
    return f"backfill:{cursor.pk}:{cursor.run}:{cursor.pages_done}"


def _lock(cursor: BackfillCursor, uow: UnitOfWork) -> tuple[BackfillCursor, Step | None]:
    """Lock the cursor in the unit; with a Step when the unit must end without applying:
    another worker moved the cursor (or stopped it), or the connection went inactive."""
    locked = BackfillCursor.objects.select_for_update().get(pk=cursor.pk)
    moved = (locked.run, locked.starting_after) != (cursor.run, cursor.starting_after)
    if moved or not locked.is_open:
        return locked, Step(locked, outcome="raced")  # another worker applied it, or a stop
    if not uow.account.is_active:
        locked.state = State.STOPPED
        locked.save(update_fields=["state", "updated_at"])
        return locked, Step(locked, outcome="stopped")
    return locked, None


def fail(cursor: BackfillCursor, message: str) -> None:
    """Record a failed attempt of the cursor's page (picked up again by the sweep)."""
    logger.warning(
        "Backfill of %s (%s) failed: %s",
        cursor.account_id,
        cursor.resource,
        message,
        account=cursor.account.stripe_user_id,
    )
    BackfillCursor.objects.filter(pk=cursor.pk, state__in=BackfillCursor.OPEN_STATES).update(
        state=State.FAILED, last_error=message[:2000], attempts=F("attempts") + 1
    )


def stop_cursors(account: StripeAccount) -> int:
    """Stop every open cursor of ``account`` (a disconnect); returns how many."""
    with transaction.atomic():
        return BackfillCursor.objects.filter(
            account=account, state__in=BackfillCursor.OPEN_STATES
        ).update(state=State.STOPPED, finished_at=timezone.now())

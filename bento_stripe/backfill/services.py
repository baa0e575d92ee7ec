"""The backfill's service API: start, state and stop, for pages, the API and commands."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import stripe
from django.db import transaction
from django.utils import timezone

from .. import queue
from ..conf import app_settings
from ..exceptions import NotConnectedError, ReconnectNeeded
from ..models import BackfillCursor, StripeAccount
from . import engine
from .pages import Backoff
from .resources import ORDER, RESOURCES

State = BackfillCursor.State


@dataclass(frozen=True)
class ResourceProgress:
    """Where one resource of a backfill stands."""

    resource: str
    label: str
    state: str
    objects_done: int
    pages_done: int
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class BackfillState:
    """A connection's backfill: each resource, and the share of resources finished."""

    account_id: int
    resources: list[ResourceProgress] = field(default_factory=list)

    @property
    def started(self) -> bool:
        return bool(self.resources)

    @property
    def done(self) -> bool:
        return self.started and all(r.state == State.DONE for r in self.resources)

    @property
    def state(self) -> str:
        """``none``, ``failed`` (a resource waits on a retry), ``stopped``, ``done``,
        ``pending`` or ``running``."""
        states = {r.state for r in self.resources}
        if not states:
            return "none"
        for name in (State.FAILED, State.STOPPED):
            if name in states:
                return str(name)
        if states == {State.DONE}:
            return "done"
        if states == {State.PENDING}:
            return "pending"
        return "running"

    @property
    def percent(self) -> int:
        """Resources finished, in percent (Stripe's lists tell no totals up front)."""
        if not self.resources:
            return 0
        done = sum(r.state == State.DONE for r in self.resources)
        return done * 100 // len(self.resources)

    @property
    def objects_done(self) -> int:
        """Stripe objects applied (the last step's row counts people, not objects)."""
        return sum(
            r.objects_done for r in self.resources if r.resource != BackfillCursor.Resource.PEOPLE
        )

    def as_dict(self) -> dict:
        """JSON-safe, for the progress endpoint and the REST API."""
        return {
            "state": self.state,
            "done": self.done,
            "percent": self.percent,
            "objects_done": self.objects_done,
            "resources": [
                {
                    "resource": r.resource,
                    "label": r.label,
                    "state": r.state,
                    "objects_done": r.objects_done,
                    "pages_done": r.pages_done,
                    "started_at": r.started_at.isoformat() if r.started_at else None,
                    "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                    "last_error": r.last_error,
                }
                for r in self.resources
            ],
        }


def state(account: StripeAccount) -> BackfillState:
    """The connection's backfill, resource by resource (in the order they run)."""
    rows = {
        c.resource: c for c in BackfillCursor.objects.filter(account=account, resource__in=ORDER)
    }
    labels = dict(BackfillCursor.Resource.choices)
    return BackfillState(
        account.pk,
        [
            ResourceProgress(
                resource=r,
                label=str(labels[r]),
                state=rows[r].state,
                objects_done=rows[r].objects_done,
                pages_done=rows[r].pages_done,
                started_at=rows[r].started_at,
                finished_at=rows[r].finished_at,
                last_error=rows[r].last_error,
            )
            for r in ORDER
            if r in rows
        ],
    )


def start(account: StripeAccount, *, since: int = 0, enqueue: bool = True) -> BackfillState:
    """Start a backfill of ``account`` (from the first page; ``since``: a UNIX time, only
    objects created since), or resume the one under way; queued after commit.

    Idempotent: running it again on a finished backfill reads everything again and
    changes only what Stripe changed (people whose fields did not change get nothing).
    """
    with transaction.atomic():
        locked = StripeAccount.objects.select_for_update().get(pk=account.pk)
        if not locked.is_active:
            raise NotConnectedError(
                f"Stripe account {account.stripe_user_id} is not connected: connect it "
                "again to import its history."
            )
        cursors = {
            c.resource: c
            for c in BackfillCursor.objects.select_for_update().filter(
                account=locked, resource__in=ORDER
            )
        }
        # Under way: every list has its cursor (the last step's may be missing, begun
        # before it existed), and one that has not given up is open.
        under_way = set(RESOURCES) <= set(cursors) and any(
            c.is_open and not engine.gave_up(c) for c in cursors.values()
        )
        if not under_way:
            for resource in ORDER:
                BackfillCursor.objects.update_or_create(
                    account=locked,
                    resource=resource,
                    defaults={
                        "state": State.PENDING,
                        "starting_after": "",
                        "since": int(since),
                        "run": (cursors[resource].run + 1) if resource in cursors else 1,
                        "objects_done": 0,
                        "pages_done": 0,
                        "attempts": 0,
                        "last_error": "",
                        "started_at": None,
                        "finished_at": None,
                    },
                )
        if enqueue:
            queue.enqueue_on_commit(
                queue.BACKFILL, locked.pk, task_name=f"bento_stripe.backfill.{locked.pk}"
            )
    return state(account)


def start_on_connect(account: StripeAccount) -> None:
    """A connection became active: start its backfill (``BACKFILL_ON_CONNECT``)."""
    if app_settings.BACKFILL_ON_CONNECT:
        start(account)


def stop(account: StripeAccount) -> int:
    """Stop the connection's backfill (a disconnect); a page being applied is not kept."""
    return engine.stop_cursors(account)


def run(
    account: StripeAccount,
    *,
    budget: float | None = None,
    backoff: Backoff | None = None,
    on_step: Callable[[engine.Step], None] | None = None,
) -> str:
    """Work through the account's open cursors, page by page, for at most ``budget``
    seconds (None: until done); returns ``done``, ``stopped``, ``failed`` or ``more``.

    One page is in memory at a time, whatever the size of the account.
    """
    deadline = None if budget is None else time.monotonic() + budget
    coupons = engine.Coupons(account)
    cursor: BackfillCursor | None = None
    while True:
        # Before every read at Stripe: a disconnect stops the backfill without one more.
        account.refresh_from_db(fields=["status"])
        if not account.is_active:
            engine.stop_cursors(account)
            return "stopped"
        if cursor is None:
            cursor = engine.first_open(account)
            if cursor is None:
                return "done"
        if deadline is not None and time.monotonic() >= deadline:
            return "more"
        cursor.account = account
        try:
            result = engine.step(cursor, backoff=backoff, coupons=coupons)
        except (stripe.StripeError, ReconnectNeeded):
            return "failed"
        if on_step is not None:
            on_step(result)
        # A page applied leaves its cursor as it was just locked and saved: the next page
        # goes on from it without reading the cursors again (the unit locks it: one moved
        # or stopped by someone else meanwhile ends that page as "raced", and the cursors
        # are read again).
        applied = result.outcome == "" and result.cursor.state == State.RUNNING
        cursor = result.cursor if applied else None


def due_for_retry() -> list[int]:
    """Connections whose backfill waits on a retry, or whose worker died mid-way."""
    stale = timezone.now() - timedelta(seconds=app_settings.BACKFILL_STALE_AFTER)
    failed = BackfillCursor.objects.filter(
        state=State.FAILED, attempts__lt=app_settings.BACKFILL_MAX_ATTEMPTS
    )
    stuck = BackfillCursor.objects.filter(
        state__in=[State.RUNNING, State.PENDING], updated_at__lte=stale
    )
    ids = set(failed.values_list("account_id", flat=True)) | set(
        stuck.values_list("account_id", flat=True)
    )
    active = StripeAccount.objects.active().filter(pk__in=ids)
    return sorted(active.values_list("pk", flat=True))

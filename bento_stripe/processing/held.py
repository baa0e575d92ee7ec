"""Held outbox rows: ask Stripe for the people no event has named an email for yet."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from ..conf import app_settings
from ..logs import get_logger
from ..models import OutboxEvent, StripeAccount
from . import lookup
from .unit import UnitOfWork

logger = get_logger("bento_stripe.processing")

#: How long a person whose lookup found nothing waits before the next one.
RETRY_AFTER = timedelta(hours=1)
#: People looked up by one task at most.
LIMIT = 200


def lookup_held(budget: float | None = None) -> int:
    """Look up the people of rows held longer than ``SWEEP_AFTER``; returns rows released.

    Stops starting new lookups once ``budget`` seconds (``LOOKUP_BUDGET``) are spent, so
    the task ends well inside django-q2's timeout; the rest wait for the next run.
    """
    if not lookup.enabled():
        return 0
    budget = app_settings.LOOKUP_BUDGET if budget is None else budget
    deadline = time.monotonic() + budget
    now = timezone.now()
    due = (
        OutboxEvent.objects.due_for_lookup(now - timedelta(seconds=app_settings.SWEEP_AFTER))
        .filter(
            connection__status=StripeAccount.Status.ACTIVE,
            # An app install that needs to be connected again has no token: its people wait
            # (their rows stay due, so they are looked up as soon as it is reconnected).
            connection__needs_reconnect=False,
        )
        .exclude(stripe_person_key="")
    )
    keys = list(
        due.order_by("connection_id", "stripe_person_key")
        .values_list("connection_id", "stripe_person_key")
        .distinct()[:LIMIT]
    )
    accounts = StripeAccount.objects.in_bulk({account_id for account_id, _ in keys})
    released = 0
    for account_id, key in keys:
        if time.monotonic() >= deadline:
            break
        account = accounts[account_id]
        snapshots = lookup.person(account, key)
        if snapshots:
            with UnitOfWork(account) as uow:
                uow.apply_snapshots(snapshots)
            released += uow.changes.released
        # Whatever is still held waits an hour before the next look.
        due.filter(connection_id=account_id, stripe_person_key=key).postpone_lookup(
            timezone.now() + RETRY_AFTER
        )
    return released

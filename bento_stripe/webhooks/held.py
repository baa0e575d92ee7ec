"""Held outbox rows: ask Stripe again for the emails that no event has told yet."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import signals
from ..conf import app_settings
from ..ledger.session import LedgerSession
from ..models import OutboxEvent, Site, StripeAccount
from . import lookup
from .outbox import release_held

#: How long a row whose lookup found nothing waits before the next one.
RETRY_AFTER = timedelta(hours=1)


def _snapshots(account: StripeAccount, key: str) -> list[lookup.Snapshot]:
    version = (int(time.time()), "api")
    if key.startswith("cus_"):
        customer = lookup.fetch(account, "customer", key)
        return [("customer", customer, version)] if customer else []
    charge = lookup.fetch(account, "charge", key)
    if charge is None:
        return []
    found: list[lookup.Snapshot] = [("charge", charge, version)]
    customer_id = charge.get("customer")
    if isinstance(customer_id, str) and customer_id:
        customer = lookup.fetch(account, "customer", customer_id)
        if customer:
            found.append(("customer", customer, version))
    return found


def retry_held_lookups(limit: int = 50) -> int:
    """Look up the people of rows held longer than ``SWEEP_AFTER``; returns rows released."""
    if not app_settings.LOOKUP_EMAILS or not app_settings.STRIPE_SECRET_KEY:
        return 0
    now = timezone.now()
    held = OutboxEvent.objects.filter(
        status=OutboxEvent.Status.HELD,
        next_attempt_at__lte=now - timedelta(seconds=app_settings.SWEEP_AFTER),
    ).exclude(stripe_customer_id="")
    keys = list(
        held.order_by().values_list("stripe_account_id", "stripe_customer_id").distinct()[:limit]
    )
    released = 0
    for account_id, key in keys:
        rows = held.filter(stripe_account_id=account_id, stripe_customer_id=key)
        for account in StripeAccount.objects.active().filter(stripe_user_id=account_id):
            snapshots = _snapshots(account, key)
            if snapshots:
                released += _apply(account, snapshots)
        rows.update(next_attempt_at=now + RETRY_AFTER)  # whatever is still held
    return released


def _apply(account: StripeAccount, snapshots: list[lookup.Snapshot]) -> int:
    with transaction.atomic():
        account = StripeAccount.objects.select_for_update().get(pk=account.pk)
        Site.objects.select_for_update().filter(pk=account.site_id).first()
        ledger = LedgerSession(
            stripe_account_id=account.stripe_user_id,
            livemode=account.livemode,
            created=snapshots[0][2][0],
            event_id="api",
        )
        for kind, obj, version in snapshots:
            if kind == "customer":
                ledger.customer(obj, version=version)
            else:
                ledger.charge(obj)
        still_held = OutboxEvent.objects.filter(
            status=OutboxEvent.Status.HELD, stripe_account_id=account.stripe_user_id
        )
        before = still_held.count()
        changes, site_ids = release_held(account, ledger)
        released = before - still_held.count()

        def announce():
            if site_ids:
                signals.outbox_ready.send(sender=OutboxEvent, site_ids=set(site_ids))
            for site, email, old, new in changes:
                signals.value_changed.send(
                    sender=StripeAccount, site=site, email=email, old_fields=old, new_fields=new
                )

        transaction.on_commit(announce)
    return released

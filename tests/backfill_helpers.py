"""Helpers of the backfill tests: the same history applied as webhooks, and a clean slate."""

from __future__ import annotations

from django.conf import settings
from django.test import override_settings

from bento_stripe.models import (
    BackfillCursor,
    LedgerCharge,
    LedgerCustomer,
    LedgerDispute,
    LedgerSubscription,
    OutboxEvent,
    StripeEventRecord,
    Subscriber,
)
from bento_stripe.processing.tasks import process_waiting

from .stripe_history import History


def record(events) -> None:
    """Record events as the webhook receiver does (one row each, waiting for processing)."""
    rows = [
        StripeEventRecord(
            stripe_event_id=e["id"],
            event_type=e["type"],
            stripe_account_id=e["account"],
            livemode=e["livemode"],
            created=e["created"],
            api_version=e["api_version"],
            payload=e,
        )
        for e in events
    ]
    StripeEventRecord.objects.bulk_create(rows, batch_size=500)


def apply_as_webhooks(events) -> None:
    """The events through the normal processing path (claim, translate, unit of work)."""
    record(sorted(events, key=lambda e: (e["created"], e["id"])))
    with override_settings(
        BENTO_STRIPE={**settings.BENTO_STRIPE, "BACKEND": "locmem", "LOOKUP_EMAILS": False}
    ):
        while StripeEventRecord.objects.filter(status="received").exists():
            process_waiting(budget=600, linger=0)


def fields(site) -> dict[str, dict]:
    """Every person's fields on ``site`` as the ledger keeps them."""
    return {s.email: s.fields for s in Subscriber.objects.filter(site=site)}


def webhook_fields(history: History, site) -> dict[str, dict]:
    """The fields the ledger computes from ``history`` sent as webhooks to a connection of
    ``site`` (made for the purpose, then removed); leaves a clean slate."""
    from .factories import StripeAccountFactory

    account = StripeAccountFactory(
        team=site.team, site=site, stripe_user_id=history.account, livemode=False
    )
    apply_as_webhooks(history.events())
    found = fields(site)
    wipe()
    account.delete()
    return found


def wipe() -> None:
    """Forget the ledger, fields, outbox, recorded events and backfill cursors."""
    for model in (
        LedgerCharge,
        LedgerCustomer,
        LedgerDispute,
        LedgerSubscription,
        OutboxEvent,
        StripeEventRecord,
        Subscriber,
        BackfillCursor,
    ):
        model.objects.all().delete()


def step_to(account, resource: str) -> BackfillCursor:
    """Apply the backfill's units until its next open cursor is ``resource``; return it."""
    from bento_stripe.backfill import engine

    while (cursor := engine.first_open(account)).resource != resource:
        engine.step(cursor)
    return cursor

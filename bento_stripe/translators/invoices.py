"""Invoices: payment news for the person; money moves on the invoice's charge, not here."""

from __future__ import annotations

from ..ledger.items import invoice_lines
from ..ledger.parse import object_id, text, whole_number
from .base import BentoEvent, TranslationContext, iso_date
from .items import items_details
from .registry import builtin


def invoice_subscription(obj: dict) -> str:
    """The invoice's subscription: ``parent.subscription_details`` (current) or ``subscription``."""
    parent = obj.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    details = details if isinstance(details, dict) else {}
    return object_id(details.get("subscription")) or object_id(obj.get("subscription"))


@builtin(
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.upcoming",
    "invoice.payment_action_required",
    "invoice.created",
    "invoice.finalized",
    "invoice.voided",
    "invoice.marked_uncollectible",
)
def invoice(ctx: TranslationContext) -> list[BentoEvent]:
    """One Bento event per invoice event, with the amounts and links a mail would use."""
    obj = ctx.obj
    customer_id = object_id(obj.get("customer"))
    email = text(obj, "customer_email")
    next_attempt = whole_number(obj, "next_payment_attempt")
    raw = invoice_lines(obj)
    # Everything is read before the ledger learns anything: an unreadable invoice changes nothing.
    event = ctx.bento(
        customer=customer_id,
        email_hint=email,
        amount_due=obj.get("amount_due"),
        amount_paid=obj.get("amount_paid"),
        amount_remaining=obj.get("amount_remaining"),
        currency=text(obj, "currency").upper() or None,
        number=obj.get("number"),
        billing_reason=obj.get("billing_reason"),
        hosted_invoice_url=obj.get("hosted_invoice_url"),
        subscription=invoice_subscription(obj) or None,
        charge=object_id(obj.get("charge")) or None,
        attempt_count=obj.get("attempt_count"),
        next_payment_attempt=iso_date(next_attempt) if next_attempt else None,
        **items_details(ctx, raw),
    )
    ctx.ledger.learn_email(customer_id, email)
    ctx.ledger.invoices.remember(
        obj, event.details["items"], (ctx.ledger.created, ctx.ledger.event_id)
    )
    return [event]

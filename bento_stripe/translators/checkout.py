"""Checkout sessions: a completed checkout tells the person's email; money moves on charges."""

from __future__ import annotations

from ..ledger.parse import object_id, text
from .base import BentoEvent, TranslationContext
from .registry import builtin


@builtin("checkout.session.completed")
def checkout_completed(ctx: TranslationContext) -> list[BentoEvent]:
    """The buyer finished a Checkout session."""
    obj = ctx.obj
    details = obj.get("customer_details")
    email = text(details if isinstance(details, dict) else {}, "email")
    email = email or text(obj, "customer_email")
    customer_id = object_id(obj.get("customer"))
    # Read whole before the ledger learns anything: an unreadable session changes nothing.
    event = ctx.bento(
        customer=customer_id,
        email_hint=email,
        mode=obj.get("mode"),
        amount_total=obj.get("amount_total"),
        currency=text(obj, "currency").upper() or None,
        payment_status=obj.get("payment_status"),
        subscription=object_id(obj.get("subscription")) or None,
    )
    ctx.ledger.learn_email(customer_id, email)
    return [event]

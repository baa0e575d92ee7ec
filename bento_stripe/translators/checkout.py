"""Checkout sessions: a completed checkout tells the person's email; money moves on charges."""

from __future__ import annotations

from ..ledger.parse import object_id
from .base import BentoEvent, TranslationContext
from .registry import builtin


@builtin("checkout.session.completed")
def checkout_completed(ctx: TranslationContext) -> list[BentoEvent]:
    """The buyer finished a Checkout session."""
    obj = ctx.obj
    email = (obj.get("customer_details") or {}).get("email") or obj.get("customer_email") or ""
    customer_id = object_id(obj.get("customer"))
    ctx.ledger.learn_email(customer_id, email)
    return [
        ctx.bento(
            customer=customer_id,
            email_hint=email,
            mode=obj.get("mode"),
            amount_total=obj.get("amount_total"),
            currency=(obj.get("currency") or "").upper() or None,
            payment_status=obj.get("payment_status"),
            subscription=object_id(obj.get("subscription")) or None,
        )
    ]

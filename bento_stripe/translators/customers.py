"""Customers: the source of a person's email, name and main currency."""

from __future__ import annotations

from ..ledger.parse import object_id
from .base import BentoEvent, TranslationContext
from .registry import builtin


@builtin("customer.created", "customer.updated", "customer.deleted")
def customer(ctx: TranslationContext) -> list[BentoEvent]:
    """Keep the customer's newest state; an email change moves the person (``change_email``)."""
    row = ctx.ledger.customer(ctx.obj, deleted=ctx.type == "customer.deleted")
    previous = ctx.previous
    return [
        ctx.bento(
            customer=row.customer_id,
            email_hint=ctx.obj.get("email") or "",
            name=ctx.obj.get("name"),
            currency=(ctx.obj.get("currency") or "").upper() or None,
            previous_email=previous.get("email") if "email" in previous else None,
        )
    ]


@builtin("customer.discount.created", "customer.discount.updated", "customer.discount.deleted")
def customer_discount(ctx: TranslationContext) -> list[BentoEvent]:
    """A coupon given to (or taken from) the customer: MRR changes through the fields."""
    obj = ctx.obj
    row = ctx.ledger.customer_discount(obj, deleted=ctx.type == "customer.discount.deleted")
    source = obj.get("source") if isinstance(obj.get("source"), dict) else {}
    coupon = obj.get("coupon") or (source or {}).get("coupon")  # older, current API versions
    numbers = coupon if isinstance(coupon, dict) else {}
    return [
        ctx.bento(
            customer=row.customer_id,
            coupon=object_id(coupon) or None,
            percent_off=numbers.get("percent_off"),
            amount_off=numbers.get("amount_off"),
            currency=(numbers.get("currency") or "").upper() or None,
            subscription=object_id(obj.get("subscription")) or None,
        )
    ]

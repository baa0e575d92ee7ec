"""Customers: the source of a person's email, name and main currency."""

from __future__ import annotations

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

"""Checkout sessions: completed, paid later, failed or abandoned (expired); money moves on charges.

A session's webhook carries no line items: the processing task looks them up at Stripe
(``bento_stripe.processing.products``) and the catalogue names their products.
"""

from __future__ import annotations

from typing import Any

from ..ledger.items import checkout_items
from ..ledger.parse import object_id, text
from .base import BentoEvent, TranslationContext
from .items import items_details
from .registry import builtin


def recovery_url(obj: dict) -> str | None:
    """Stripe's recovery link of an expired session (``after_expiration.recovery.url``), when
    recovery is enabled."""
    after = obj.get("after_expiration")
    recovery = after.get("recovery") if isinstance(after, dict) else None
    if not isinstance(recovery, dict) or not recovery.get("enabled"):
        return None
    return text(recovery, "url") or None


@builtin(
    "checkout.session.completed",
    "checkout.session.expired",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
)
def checkout_session(ctx: TranslationContext) -> list[BentoEvent]:
    """The buyer finished (or abandoned) a Checkout session: its items, total and links."""
    obj = ctx.obj
    details = obj.get("customer_details")
    email = text(details if isinstance(details, dict) else {}, "email")
    email = email or text(obj, "customer_email")
    customer_id = object_id(obj.get("customer"))
    session_id = str(obj.get("id") or "")
    listed = obj.get("line_items")
    entries = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(entries, list):
        entries = ctx.ledger.catalogue.line_items.get(session_id, [])
    currency = text(obj, "currency")
    # Read whole before the ledger learns anything: an unreadable session changes nothing.
    raw = checkout_items(entries, currency)
    extra: dict[str, Any] = {}
    if ctx.type == "checkout.session.expired":
        extra["recovery_url"] = recovery_url(obj)
    event = ctx.bento(
        customer=customer_id,
        email_hint=email,
        mode=obj.get("mode"),
        status=obj.get("status"),
        amount_total=obj.get("amount_total"),
        currency=currency.upper() or None,
        payment_status=obj.get("payment_status"),
        subscription=object_id(obj.get("subscription")) or None,
        **extra,
        **items_details(ctx, raw),
    )
    ctx.ledger.learn_email(customer_id, email)
    return [event]

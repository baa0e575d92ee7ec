"""Subscriptions: status, plan and MRR follow the newest event about each subscription."""

from __future__ import annotations

from ..ledger.items import subscription_items
from ..ledger.parse import listing, whole_number
from .base import BentoEvent, TranslationContext, iso_date
from .items import items_details
from .registry import builtin


def period_end(obj: dict) -> int | None:
    """The current period's end: per item (current API) or on the subscription (legacy)."""
    items = listing(obj.get("items"), "subscription.items")
    ends = [
        end for i in items if isinstance(i, dict) and (end := whole_number(i, "current_period_end"))
    ]
    if ends:
        return max(ends)
    return whole_number(obj, "current_period_end")


@builtin(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
)
def subscription(ctx: TranslationContext) -> list[BentoEvent]:
    """Apply the subscription (when newest) and tell the person what changed."""
    obj = ctx.obj
    # Read before the ledger changes: an unreadable object must change nothing.
    end = period_end(obj)
    trial_end = whole_number(obj, "trial_end")
    raw = subscription_items(obj)
    row = ctx.ledger.subscription(obj)
    items = items_details(ctx, raw)
    labels = ", ".join(
        i["price_nickname"] or i["product_name"] or i["price"] or "" for i in items["items"]
    )
    previous = ctx.previous
    return [
        ctx.bento(
            customer=row.customer_id,
            status=obj.get("status"),
            previous_status=previous.get("status"),
            plan=labels or None,
            cancel_at_period_end=obj.get("cancel_at_period_end"),
            current_period_end=iso_date(end) if end else None,
            trial_end=iso_date(trial_end) if trial_end else None,
            **items,
        )
    ]

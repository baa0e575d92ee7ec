"""Subscriptions: status, plan and MRR follow the newest event about each subscription."""

from __future__ import annotations

from .base import BentoEvent, TranslationContext, iso_date
from .registry import builtin


def period_end(obj: dict) -> int | None:
    """The current period's end: per item (current API) or on the subscription (legacy)."""
    ends = [
        i.get("current_period_end")
        for i in (obj.get("items") or {}).get("data") or []
        if i.get("current_period_end")
    ]
    if ends:
        return max(ends)
    return obj.get("current_period_end")


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
    row = ctx.ledger.subscription(ctx.obj)
    obj = ctx.obj
    labels = ", ".join(i["label"] for i in (row.data.get("items") or []))
    end = period_end(obj)
    previous = ctx.previous
    return [
        ctx.bento(
            customer=row.customer_id,
            status=obj.get("status"),
            previous_status=previous.get("status"),
            plan=labels or None,
            cancel_at_period_end=obj.get("cancel_at_period_end"),
            current_period_end=iso_date(end) if end else None,
            trial_end=iso_date(obj["trial_end"]) if obj.get("trial_end") else None,
        )
    ]

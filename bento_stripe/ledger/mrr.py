"""Monthly recurring revenue of a subscription, exact in Decimal minor units."""

from __future__ import annotations

from decimal import Decimal

from .shapes import Discount, Item, Subscription

#: Statuses whose subscriptions count towards MRR.
PAYING = frozenset({"active", "past_due"})
#: Statuses that can make a subscription the person's main one before any other.
CURRENT = frozenset({"active", "past_due", "trialing"})

_HUNDRED = Decimal(100)
_TWELVE = Decimal(12)
#: How many of each interval make a month, as a fraction (numerator, denominator).
_PER_MONTH = {
    "month": (Decimal(1), Decimal(1)),
    "year": (Decimal(1), _TWELVE),
    "week": (Decimal(52), _TWELVE),
    "day": (Decimal(365), _TWELVE),
}


def apply_discounts(amount: Decimal, discounts: tuple[Discount, ...], currency: str) -> Decimal:
    """``amount`` of one billing period after each discount in order, never below zero."""
    for discount in discounts:
        if discount.percent_off is not None:
            amount = amount * (_HUNDRED - discount.percent_off) / _HUNDRED
        if discount.amount_off is not None and (
            not discount.currency or discount.currency.lower() == (currency or "").lower()
        ):
            amount = amount - Decimal(discount.amount_off)
        amount = max(amount, Decimal(0))
    return amount


def to_monthly(amount: Decimal, interval: str, interval_count: int) -> Decimal:
    """A per-period amount normalised to one month (year ÷ 12, week × 52 ÷ 12, day × 365 ÷ 12)."""
    numerator, denominator = _PER_MONTH.get(interval, (None, None))
    if numerator is None or interval_count < 1:
        return Decimal(0)
    return amount * numerator / (denominator * Decimal(interval_count))


def item_period_amount(item: Item, currency: str) -> Decimal:
    """One item's amount per billing period after its own discounts (0 for usage-based prices)."""
    if item.usage_based or item.unit_amount is None:
        return Decimal(0)
    return apply_discounts(item.unit_amount * Decimal(item.quantity), item.discounts, currency)


def subscription_mrr(sub: Subscription) -> Decimal:
    """The subscription's MRR in minor units; 0 unless it is active or past due."""
    if sub.status not in PAYING or not sub.items:
        return Decimal(0)
    # Stripe bills every item of a subscription on one interval; group defensively anyway.
    groups: dict[tuple[str, int], Decimal] = {}
    for item in sub.items:
        key = (item.interval, item.interval_count)
        groups[key] = groups.get(key, Decimal(0)) + item_period_amount(item, sub.currency)
    total = Decimal(0)
    for index, ((interval, count), amount) in enumerate(groups.items()):
        if index == 0:
            amount = apply_discounts(amount, sub.discounts, sub.currency)
        else:
            percents = tuple(Discount(percent_off=d.percent_off) for d in sub.discounts)
            amount = apply_discounts(amount, percents, sub.currency)
        total += to_monthly(amount, interval, count)
    return total


def main_subscription(subs: tuple[Subscription, ...] | list[Subscription]) -> Subscription | None:
    """The highest-MRR current subscription (ties: newest), else the newest in any status."""
    current = [s for s in subs if s.status in CURRENT]
    if current:
        return max(current, key=lambda s: (subscription_mrr(s), s.created, s.id))
    if subs:
        return max(subs, key=lambda s: (s.created, s.id))
    return None

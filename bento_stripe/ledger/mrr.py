"""Monthly recurring revenue of a subscription, exact (as fractions) in minor units."""

from __future__ import annotations

from fractions import Fraction

from .shapes import Discount, Item, Subscription

#: Statuses whose subscriptions count towards MRR.
PAYING = frozenset({"active", "past_due"})
#: Statuses that can make a subscription the person's main one before any other.
CURRENT = frozenset({"active", "past_due", "trialing"})

_ZERO = Fraction(0)
_HUNDRED = Fraction(100)
#: How many of each interval make a month: year ÷ 12, week × 52 ÷ 12, day × 365 ÷ 12.
_PER_MONTH = {
    "month": Fraction(1),
    "year": Fraction(1, 12),
    "week": Fraction(52, 12),
    "day": Fraction(365, 12),
}


def apply_discounts(amount: Fraction, discounts: tuple[Discount, ...], currency: str) -> Fraction:
    """``amount`` of one billing period after each discount in order, never below zero."""
    for discount in discounts:
        if discount.percent_off is not None:
            amount = amount * (_HUNDRED - Fraction(discount.percent_off)) / _HUNDRED
        if discount.amount_off is not None and (
            not discount.currency or discount.currency.lower() == (currency or "").lower()
        ):
            amount = amount - Fraction(discount.amount_off)
        amount = max(amount, _ZERO)
    return amount


def to_monthly(amount: Fraction, interval: str, interval_count: int) -> Fraction:
    """A per-period amount normalised to one month, ÷ ``interval_count``."""
    factor = _PER_MONTH.get(interval)
    if factor is None or interval_count < 1:
        return _ZERO
    return amount * factor / interval_count


def billed_quantity(item: Item) -> int:
    """The quantity Stripe bills: ``transform_quantity`` divides it and rounds up or down."""
    if item.divide_by <= 1:
        return item.quantity
    whole, rest = divmod(item.quantity, item.divide_by)
    return whole + 1 if rest and item.round_up else whole


def item_period_amount(item: Item, currency: str) -> Fraction:
    """One item's amount per billing period after its own discounts (0 for usage-based prices)."""
    if item.usage_based or item.unit_amount is None:
        return _ZERO
    amount = Fraction(item.unit_amount) * billed_quantity(item)
    return apply_discounts(amount, item.discounts, currency)


def subscription_mrr(sub: Subscription) -> Fraction:
    """The subscription's exact MRR in minor units; 0 unless it is active or past due.

    A subscription whose collection is paused counts 0 too: Stripe keeps its status but
    issues no collectible invoices until it resumes.
    """
    if sub.status not in PAYING or sub.collection_paused or not sub.items:
        return _ZERO
    # Stripe bills every item of a subscription on one interval; group defensively anyway.
    groups: dict[tuple[str, int], Fraction] = {}
    for item in sub.items:
        key = (item.interval, item.interval_count)
        groups[key] = groups.get(key, _ZERO) + item_period_amount(item, sub.currency)
    total = _ZERO
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

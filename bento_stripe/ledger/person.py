"""A person's flat Bento fields, computed from the ledger's plain inputs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from .currency import major_number
from .mrr import CURRENT, PAYING, main_subscription, subscription_mrr
from .shapes import Person, Subscription


def net_by_currency(person: Person) -> dict[str, int]:
    """Captured minus refunded minus lost disputes, per lower-case currency, in minor units."""
    totals: dict[str, int] = {}
    for charge in person.charges:
        code = charge.currency.lower()
        totals[code] = totals.get(code, 0) + charge.captured - charge.refunded - charge.lost
    return totals


def main_currency(person: Person) -> str:
    """The newest customer's currency, else the first captured charge's (lower-case; "" if none)."""
    if person.customers:
        newest = max(person.customers, key=lambda c: (c.created, c.id))
        if newest.currency:
            return newest.currency.lower()
    captured = [c for c in person.charges if c.captured > 0]
    if captured:
        return min(captured, key=lambda c: (c.created, c.id)).currency.lower()
    return ""


def newest_customer_id(person: Person) -> str:
    """The id of the person's most recently created customer (deleted ones included)."""
    if not person.customers:
        return ""
    return max(person.customers, key=lambda c: (c.created, c.id)).id


def field_currency(person: Person, main: Subscription | None) -> str:
    """The ``currency`` field (lower-case): the main currency, else the main subscription's."""
    currency = main_currency(person)
    if not currency and main is not None:
        currency = main.currency.lower()
    return currency


def mrr_field(person: Person) -> tuple[int | float, str]:
    """The ``mrr`` and ``currency`` fields of ``person`` alone (as :func:`person_fields`)."""
    currency = field_currency(person, main_subscription(person.subscriptions))
    return major_number(mrr_by_currency(person).get(currency, Fraction(0)), currency), currency


def person_fields(person: Person) -> dict:
    """The flat Bento fields of ``person``: amounts rounded half-up once, as JSON numbers."""
    main = main_subscription(person.subscriptions)
    currency = field_currency(person, main)
    totals = net_by_currency(person)
    mrr = mrr_by_currency(person)
    fields: dict = {
        "lifetime_value": major_number(totals.get(currency, 0), currency),
        "currency": currency.upper(),
        "mrr": major_number(mrr.get(currency, Fraction(0)), currency),
        "plan": ", ".join(item.label for item in main.items) if main else "",
        "subscription_status": main.status if main else "",
        "stripe_customer_id": newest_customer_id(person),
        **purchase_fields(person),
    }
    for code in sorted(totals):
        if code != currency:
            fields[f"lifetime_value_{code}"] = major_number(totals[code], code)
    for code in sorted(mrr):
        if code and code != currency:
            fields[f"mrr_{code}"] = major_number(mrr[code], code)
    return fields


def mrr_by_currency(person: Person) -> dict[str, Fraction]:
    """Exact MRR per lower-case currency, in minor units, over every subscription.

    Every currency the person has a subscription in is there, at 0 when none of those
    counts: a field Bento already has is set to 0 then, not left at its old value.
    """
    totals: dict[str, Fraction] = {}
    for sub in person.subscriptions:
        code = sub.currency.lower()
        amount = subscription_mrr(sub) if sub.status in PAYING else Fraction(0)
        totals[code] = totals.get(code, Fraction(0)) + amount
    return totals


def product_names(person: Person) -> str:
    """Distinct product names of the person's active, past-due or trialing subscriptions,
    sorted, joined with ``, `` (a product whose name is unknown shows its id)."""
    names = {
        item.product_name or item.product_id
        for sub in person.subscriptions
        if sub.status in CURRENT
        for item in sub.items
        if item.product_name or item.product_id
    }
    return ", ".join(sorted(names))


def purchase_fields(person: Person) -> dict:
    """``products``, ``purchases`` (captured charges, refunded ones included) and
    ``last_purchase_at`` (UTC time of the newest captured charge, "" when none)."""
    captured = [c for c in person.charges if c.captured > 0]
    newest = max((c.created for c in captured), default=0)
    return {
        "products": product_names(person),
        "purchases": len(captured),
        "last_purchase_at": iso_time(newest) if newest else "",
    }


def iso_time(created: int) -> str:
    """A UNIX time as UTC ISO 8601 with a ``Z``, to the second."""
    return datetime.fromtimestamp(int(created), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

"""Plain, immutable inputs of the ledger's pure functions (built from ledger rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Discount:
    """A coupon applied to a subscription or an item: a percentage or an amount per period."""

    percent_off: Decimal | None = None
    amount_off: int | None = None
    currency: str = ""


@dataclass(frozen=True)
class Item:
    """One subscription item: a recurring price times a quantity."""

    price_id: str
    label: str
    unit_amount: Decimal | None
    quantity: int = 1
    interval: str = "month"
    interval_count: int = 1
    #: Metered or tiered prices have no fixed amount: they count 0 in MRR.
    usage_based: bool = False
    discounts: tuple[Discount, ...] = ()
    #: The price's ``transform_quantity``: bill quantity ÷ ``divide_by``, rounded up or down.
    divide_by: int = 1
    round_up: bool = True
    #: The price's product, and its name as known ("" when neither is).
    product_id: str = ""
    product_name: str = ""


@dataclass(frozen=True)
class Subscription:
    """A subscription's latest known state."""

    id: str
    status: str
    created: int
    currency: str
    items: tuple[Item, ...] = ()
    discounts: tuple[Discount, ...] = ()
    #: ``pause_collection`` is set: Stripe makes no collectible invoices, so no MRR.
    collection_paused: bool = False


@dataclass(frozen=True)
class Charge:
    """A charge's money so far, in minor units; amounts only ever grow."""

    id: str
    currency: str
    created: int
    captured: int = 0
    refunded: int = 0
    #: Sum of the charge's lost disputes.
    lost: int = 0


@dataclass(frozen=True)
class Customer:
    """A Stripe customer of the person."""

    id: str
    created: int
    currency: str = ""
    deleted: bool = False


@dataclass(frozen=True)
class Person:
    """Everything the ledger knows of one email on one site."""

    customers: tuple[Customer, ...] = ()
    charges: tuple[Charge, ...] = ()
    subscriptions: tuple[Subscription, ...] = field(default=())

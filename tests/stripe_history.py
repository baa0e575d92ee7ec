"""A generated Stripe account history: the objects as Stripe lists them now, and the same
history as the webhook events that led there.

Deterministic and lazy (object ``i`` is computed from the seed and ``i``), so the list
stand-in can serve 100,000 charges without holding them: customers sharing an email,
charges in USD, EUR and JPY (failed ones, guest ones without a customer, partial,
repeated and full refunds), disputes won and lost, subscriptions in every status with
percent and amount coupons, quantities, yearly and monthly prices, paused collection.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

#: Every subscription status Stripe has.
STATUSES = (
    "active",
    "past_due",
    "trialing",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "unpaid",
    "paused",
)
#: Products of the catalogue (``prod_0`` .. ``prod_12``), each named ``Course <n>``.
PRODUCTS = 13
COUPONS = {
    "co_pct25": {"id": "co_pct25", "object": "coupon", "percent_off": 25.0, "amount_off": None},
    "co_pct12_5": {"id": "co_pct12_5", "object": "coupon", "percent_off": 12.5, "amount_off": None},
    "co_usd5": {
        "id": "co_usd5",
        "object": "coupon",
        "percent_off": None,
        "amount_off": 500,
        "currency": "usd",
    },
}


@dataclass
class History:
    """``customers`` customers and ``charges`` charges of one connected account."""

    account: str
    customers: int = 2000
    charges: int = 10000
    seed: int = 7
    #: UNIX time the history starts at (three years before now by default).
    start: int = 0

    def __post_init__(self) -> None:
        self.start = self.start or int(time.time()) - 3 * 365 * 86400

    # --- final objects ----------------------------------------------------------------

    def currency(self, i: int) -> str:
        return "jpy" if i % 50 == 11 else "eur" if i % 7 == 3 else "usd"

    def email(self, i: int) -> str:
        # Every tenth customer is the same person as the one before (another account).
        return f"person{i - 1 if i % 10 == 9 else i}@example.com"

    def customer(self, i: int) -> dict:
        return {
            "id": f"cus_{i:07d}",
            "object": "customer",
            "email": self.email(i),
            "name": f"Person {i}",
            "currency": self.currency(i),
            "created": self.start + i * 60,
            "livemode": False,
            "discount": None,
        }

    def charge_time(self, j: int) -> int:
        """Charges spread evenly over the three years of the history."""
        return self.start + 3600 + j * (3 * 365 * 86400 - 7 * 86400) // max(self.charges, 1)

    def _charge_plan(self, j: int) -> dict:
        rng = random.Random(self.seed * 1_000_003 + j)  # noqa: S311 - test data
        owner = rng.randrange(self.customers)
        guest = j % 97 == 5
        currency = self.currency(owner) if not guest else "usd"
        amount = rng.randrange(50, 5000) if currency == "jpy" else rng.randrange(100, 50000)
        failed = j % 31 == 7
        roll = rng.random()
        refunds: list[int] = []
        if not failed and roll < 0.08:
            refunds = [amount // 4, amount // 3] if j % 3 == 0 else [amount // 3]
        elif not failed and roll < 0.12:
            refunds = [amount]
        return {
            "owner": None if guest else owner,
            "currency": currency,
            "amount": amount,
            "failed": failed,
            "refunds": refunds,
            "dispute": None if failed or j % 53 != 17 else ("lost" if j % 2 else "won"),
        }

    def charge(self, j: int, *, refunded: int | None = None) -> dict:
        plan = self._charge_plan(j)
        cumulative = (plan["refunds"] or [0])[-1] if refunded is None else refunded
        owner = plan["owner"]
        failed = plan["failed"]
        return {
            "id": f"ch_{j:08d}",
            "object": "charge",
            "amount": plan["amount"],
            "amount_captured": 0 if failed else plan["amount"],
            "amount_refunded": cumulative,
            "refunded": cumulative == plan["amount"],
            "captured": not failed,
            "status": "failed" if failed else "succeeded",
            "currency": plan["currency"],
            "customer": None if owner is None else f"cus_{owner:07d}",
            "billing_details": {"email": f"guest{j}@example.com" if owner is None else None},
            "receipt_email": None,
            "disputed": plan["dispute"] is not None,
            "created": self.charge_time(j),
            "livemode": False,
        }

    def dispute(self, j: int, *, status: str | None = None) -> dict | None:
        plan = self._charge_plan(j)
        if plan["dispute"] is None:
            return None
        return {
            "id": f"dp_{j:08d}",
            "object": "dispute",
            "amount": plan["amount"],
            "currency": plan["currency"],
            "charge": f"ch_{j:08d}",
            "status": status or plan["dispute"],
            "created": self.charge_time(j) + 86400,
            "livemode": False,
        }

    def has_subscription(self, i: int) -> bool:
        return i % 2 == 0

    def _discount(self, k: int) -> dict | None:
        coupon = {0: "co_pct25", 1: "co_usd5", 2: "co_pct12_5"}.get(k % 10)
        if coupon == "co_usd5" and self.currency(k) != "usd":
            coupon = "co_pct25"
        if coupon is None:
            return None
        return {
            "id": f"di_{k:07d}",
            "object": "discount",
            "customer": f"cus_{k:07d}",
            "subscription": f"sub_{k:07d}",
            "source": {"type": "coupon", "coupon": coupon},
        }

    def subscription(self, k: int, *, status: str | None = None, expand: bool = False) -> dict:
        """Customer ``k``'s subscription; ``discounts`` as ids unless ``expand``."""
        currency = self.currency(k)
        yearly = k % 3 == 0
        items = []
        for n in range(1 + (k % 4 == 2)):
            unit = (1000 + 100 * (k % 7)) * (10 if yearly else 1)
            if currency == "jpy":
                unit //= 100
            items.append(
                {
                    "id": f"si_{k:07d}_{n}",
                    "object": "subscription_item",
                    "quantity": 1 + (k + n) % 5,
                    "price": {
                        "id": f"price_{k % 13}_{n}_{'y' if yearly else 'm'}_{currency}",
                        "object": "price",
                        "nickname": None if k % 4 == 0 else f"Plan {k % 13}-{n}",
                        "product": f"prod_{k % 13}",
                        "currency": currency,
                        "unit_amount": unit,
                        "unit_amount_decimal": str(unit),
                        "billing_scheme": "per_unit",
                        "recurring": {
                            "interval": "year" if yearly else "month",
                            "interval_count": 1,
                            "usage_type": "licensed",
                        },
                    },
                }
            )
        discount = self._discount(k)
        final = status or STATUSES[(k // 2) % len(STATUSES)]
        return {
            "id": f"sub_{k:07d}",
            "object": "subscription",
            "customer": f"cus_{k:07d}",
            "status": final,
            "currency": currency,
            "created": self.start + k * 60 + 120,
            "items": {"object": "list", "data": items, "has_more": False},
            "discounts": [] if discount is None else [discount if expand else discount["id"]],
            "pause_collection": {"behavior": "void"} if final == "active" and k % 32 == 4 else None,
            "livemode": False,
        }

    def invoice(self, k: int) -> dict:
        return {
            "id": f"in_{k:07d}",
            "object": "invoice",
            "customer": f"cus_{k:07d}",
            "customer_email": self.email(k),
            "currency": self.currency(k),
            "amount_paid": 0,
            "status": "paid",
            "created": self.start + k * 60 + 180,
            "livemode": False,
        }

    def product(self, n: int) -> dict:
        """Product ``n`` of the catalogue (its prices have no nickname one time in four)."""
        return {
            "id": f"prod_{n}",
            "object": "product",
            "name": f"Course {n}",
            "active": True,
            "created": self.start + n,
            "livemode": False,
        }

    def prices(self) -> dict[str, dict]:
        """Every price the subscriptions use, by id (product named by id, as Stripe lists it)."""
        cached = self.__dict__.get("_prices")
        if cached is not None:
            return cached
        found: dict[str, dict] = {}
        self.__dict__["_prices"] = found
        for k in range(self.customers):
            if self.has_subscription(k):
                for item in self.subscription(k)["items"]["data"]:
                    found.setdefault(item["price"]["id"], {**item["price"], "created": self.start})
        return found

    # --- what Stripe's lists hold (newest first, as Stripe lists them) ----------------

    def listing(self, resource: str) -> list[str]:
        """The ids of a list, newest first (the objects are made when served)."""
        if resource == "products":
            ids = [f"prod_{n}" for n in range(PRODUCTS)]
        elif resource == "prices":
            ids = sorted(self.prices())
        elif resource == "customers":
            ids = [f"cus_{i:07d}" for i in range(self.customers)]
        elif resource == "charges":
            ids = [f"ch_{j:08d}" for j in range(self.charges)]
        elif resource == "disputes":
            ids = [f"dp_{j:08d}" for j in range(self.charges) if self.dispute(j)]
        elif resource in ("subscriptions", "invoices"):
            prefix = "sub" if resource == "subscriptions" else "in"
            ids = [f"{prefix}_{k:07d}" for k in range(self.customers) if self.has_subscription(k)]
        else:
            ids = []
        return ids[::-1]

    def get(self, object_id: str, *, expand: bool = False) -> dict:
        """The object of an id as Stripe serves it now."""
        prefix, number = object_id.split("_", 1)
        if prefix == "co":
            return dict(COUPONS[object_id])
        if prefix == "prod":
            return self.product(int(number))
        if prefix == "price":
            return self.prices()[object_id]
        n = int(number)
        if prefix == "cus":
            return self.customer(n)
        if prefix == "ch":
            return self.charge(n)
        if prefix == "dp":
            found = self.dispute(n)
            assert found is not None
            return found
        if prefix == "sub":
            return self.subscription(n, expand=expand)
        return self.invoice(n)

    # --- the same history as webhook events -------------------------------------------

    def events(self) -> Iterator[dict]:
        """Every webhook event of the history (in no particular order; each has its time)."""
        for n in range(PRODUCTS):
            product = self.product(n)
            yield self._event("product.created", product, product["created"], 0)
        for i in range(self.customers):
            customer = self.customer(i)
            yield self._event("customer.created", customer, customer["created"], 0)
            if self.has_subscription(i):
                yield from self._subscription_events(i)
        for j in range(self.charges):
            yield from self._charge_events(j)

    def _event(self, kind: str, obj: dict, created: int, n: int) -> dict:
        return {
            "id": f"evt_{obj['id']}_{n}",
            "object": "event",
            "type": kind,
            "created": created,
            "livemode": False,
            "account": self.account,
            "api_version": "2025-10-29.clover",
            "data": {"object": obj, "previous_attributes": {}},
        }

    def _subscription_events(self, k: int) -> Iterator[dict]:
        discount = self._discount(k)
        sub = self.subscription(k)
        at = sub["created"]
        if discount is not None:
            # An older API version's discount event: the coupon whole, not by id.
            inline = {k2: v for k2, v in discount.items() if k2 != "source"}
            inline["coupon"] = dict(COUPONS[discount["source"]["coupon"]])
            yield self._event("customer.discount.created", inline, at, 0)
        first = self.subscription(k, status="incomplete")
        yield self._event("customer.subscription.created", first, at, 1)
        if sub["status"] != "incomplete":
            yield self._event("customer.subscription.updated", sub, at + 3600, 2)
        yield self._event("invoice.paid", self.invoice(k), at + 60, 3)

    def _charge_events(self, j: int) -> Iterator[dict]:
        plan = self._charge_plan(j)
        first = self.charge(j, refunded=0)
        at = first["created"]
        kind = "charge.failed" if plan["failed"] else "charge.succeeded"
        yield self._event(kind, first, at, 0)
        for n, cumulative in enumerate(plan["refunds"], start=1):
            yield self._event(
                "charge.refunded", self.charge(j, refunded=cumulative), at + 3600 * n, n
            )
        dispute = self.dispute(j, status="needs_response")
        if dispute is not None:
            yield self._event("charge.dispute.created", dispute, dispute["created"], 10)
            closed = self.dispute(j)
            assert closed is not None
            yield self._event("charge.dispute.closed", closed, dispute["created"] + 86400, 11)

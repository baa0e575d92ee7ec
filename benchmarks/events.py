"""Stripe Connect events for the benchmarks: a realistic mix over many customers and accounts.

No Django here: the load generator imports it too. Signing follows Stripe's documented
scheme (``t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">``), as ``tests/stripe_events.sign`` does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence

#: A fixed base for ``created`` (late 2026), so runs are comparable.
T0 = 1_795_852_800
#: The secret of both benchmark webhook endpoints (ours and dj-stripe's stock one).
SECRET = "whsec_benchmark_0123456789abcdef"  # noqa: S105 - a made-up local secret
#: Stripe event types of one customer's life, in the order Stripe sends them.
LIFE = (
    "customer.created",
    "customer.subscription.created",
    "invoice.paid",
    "charge.succeeded",
    "charge.refunded",
)


def account_ids(n: int) -> list[str]:
    """The connected accounts of a benchmark run (``acct_bench00`` ...)."""
    return [f"acct_bench{i:02d}" for i in range(n)]


def customer_events(account_id: str, key: str, k: int) -> list[dict]:
    """One customer's five events: created, subscribed, invoice paid, charged, partly refunded."""
    cus = {
        "id": f"cus_{key}",
        "object": "customer",
        "email": f"p{key}@example.com",
        "currency": "usd",
        "created": T0 + k,
    }
    price = {
        "id": "price_pro",
        "nickname": "Pro",
        "unit_amount": 4900,
        "recurring": {"interval": "month", "interval_count": 1},
    }
    sub = {
        "id": f"sub_{key}",
        "object": "subscription",
        "customer": cus["id"],
        "status": "active",
        "currency": "usd",
        "created": T0 + k,
        "items": {"data": [{"quantity": 1, "price": price}]},
    }
    charge = {
        "id": f"ch_{key}",
        "object": "charge",
        "customer": cus["id"],
        "amount": 4900,
        "amount_captured": 4900,
        "amount_refunded": 0,
        "captured": True,
        "currency": "usd",
        "status": "succeeded",
        "created": T0 + k,
        "billing_details": {"email": cus["email"]},
    }
    invoice = {
        "id": f"in_{key}",
        "object": "invoice",
        "customer": cus["id"],
        "customer_email": cus["email"],
        "amount_paid": 4900,
        "currency": "usd",
        "parent": {"subscription_details": {"subscription": sub["id"]}},
    }
    objects = (cus, sub, invoice, charge, {**charge, "amount_refunded": 900})
    return [
        {
            "id": f"evt_{key}_{offset}",
            "object": "event",
            "api_version": "2025-09-30.clover",
            "type": kind,
            "account": account_id,
            "livemode": False,
            "created": T0 + 10 * k + offset,
            "data": {"object": obj},
        }
        for offset, (kind, obj) in enumerate(zip(LIFE, objects, strict=True))
    ]


def stream(accounts: Sequence[str], n_events: int, prefix: str) -> list[dict]:
    """``n_events`` events of customers spread over ``accounts`` (customer ``k`` is in
    account ``k % len(accounts)``), as the Connect traffic of many shops interleaves:
    ``len(accounts)`` customers live at once, each one's own events in order.
    """
    lives = [
        customer_events(accounts[k % len(accounts)], f"{prefix}{k}", k)
        for k in range(-(-n_events // len(LIFE)))
    ]
    events: list[dict] = []
    width = len(accounts)
    for start in range(0, len(lives), width):
        group = lives[start : start + width]
        for step in range(len(LIFE)):
            events.extend(life[step] for life in group)
    return events[:n_events]


def sign(body: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header for ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def encode(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))

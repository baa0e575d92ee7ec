"""A realistic Stripe Connect event stream for one customer, for demos and end-to-end tests.

Shapes follow Stripe's current API objects (customer, subscription with items and
per-item periods, invoice with ``parent.subscription_details``, charge with
``billing_details``), with sane values. Every run gets fresh ids, so it can be sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

API_VERSION = "2025-10-29.clover"


def _event(kind: str, obj: dict, account: str, created: int, previous: dict | None = None) -> dict:
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": f"evt_sim_{secrets.token_hex(10)}",
        "object": "event",
        "account": account,
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
    }


def stream(
    account: str, email: str, name: str = "Jane Doe", start: int | None = None
) -> list[dict]:
    """customer, subscription, paid invoice + charge, partial refund, failed renewal, past_due."""
    t = int(start or time.time()) - 600
    tag = secrets.token_hex(6)
    cus, sub, price, prod = f"cus_sim{tag}", f"sub_sim{tag}", f"price_sim{tag}", f"prod_sim{tag}"
    month = 30 * 86400
    customer = {
        "id": cus,
        "object": "customer",
        "created": t,
        "currency": "usd",
        "email": email,
        "name": name,
        "livemode": False,
        "metadata": {},
        "delinquent": False,
    }
    item_price = {
        "id": price,
        "object": "price",
        "active": True,
        "currency": "usd",
        "nickname": "Pro",
        "product": prod,
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": 4900,
        "unit_amount_decimal": "4900",
        "billing_scheme": "per_unit",
    }

    def subscription(status: str, created: int) -> dict:
        return {
            "id": sub,
            "object": "subscription",
            "created": t + 10,
            "customer": cus,
            "currency": "usd",
            "status": status,
            "cancel_at_period_end": False,
            "discounts": [],
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_sim{tag}",
                        "object": "subscription_item",
                        "created": t + 10,
                        "current_period_start": t + 10,
                        "current_period_end": t + 10 + month,
                        "discounts": [],
                        "price": item_price,
                        "quantity": 1,
                        "subscription": sub,
                    }
                ],
            },
            "livemode": False,
            "start_date": t + 10,
            "trial_end": None,
        }

    def invoice(number: int, paid: bool, created: int, charge: str) -> dict:
        return {
            "id": f"in_sim{tag}{number}",
            "object": "invoice",
            "created": created,
            "currency": "usd",
            "customer": cus,
            "customer_email": email,
            "customer_name": name,
            "amount_due": 4900,
            "amount_paid": 4900 if paid else 0,
            "amount_remaining": 0 if paid else 4900,
            "attempt_count": 1,
            "billing_reason": "subscription_create" if number == 1 else "subscription_cycle",
            "status": "paid" if paid else "open",
            "total": 4900,
            "subtotal": 4900,
            "livemode": False,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": {}, "subscription": sub},
            },
            "lines": {"object": "list", "data": []},
            "payments": {
                "object": "list",
                "data": [{"payment": {"type": "charge", "charge": charge}}],
            },
        }

    def charge(number: int, ok: bool, created: int, refunded: int = 0) -> dict:
        return {
            "id": f"ch_sim{tag}{number}",
            "object": "charge",
            "created": created,
            "amount": 4900,
            "amount_captured": 4900 if ok else 0,
            "amount_refunded": refunded,
            "captured": ok,
            "currency": "usd",
            "customer": cus,
            "billing_details": {"email": email, "name": name, "address": None, "phone": None},
            "receipt_email": email,
            "description": "Subscription update" if number > 1 else "Subscription creation",
            "disputed": False,
            "failure_code": None if ok else "card_declined",
            "failure_message": None if ok else "Your card was declined.",
            "livemode": False,
            "paid": ok,
            "refunded": refunded == 4900,
            "status": "succeeded" if ok else "failed",
            "payment_intent": f"pi_sim{tag}{number}",
            "outcome": {"type": "authorized" if ok else "issuer_declined"},
        }

    renew = t + 300
    return [
        _event("customer.created", customer, account, t),
        _event("customer.subscription.created", subscription("active", t + 10), account, t + 10),
        _event("invoice.paid", invoice(1, True, t + 20, f"ch_sim{tag}1"), account, t + 20),
        _event("charge.succeeded", charge(1, True, t + 20), account, t + 21),
        _event(
            "charge.refunded",
            charge(1, True, t + 20, refunded=1500),
            account,
            t + 120,
            previous={"amount_refunded": 0},
        ),
        _event("charge.failed", charge(2, False, renew), account, renew),
        _event(
            "invoice.payment_failed", invoice(2, False, renew, f"ch_sim{tag}2"), account, renew + 1
        ),
        _event(
            "customer.subscription.updated",
            subscription("past_due", renew + 2),
            account,
            renew + 2,
            previous={"status": "active"},
        ),
    ]


def signature(body: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header as Stripe computes it: ``t=<ts>,v1=HMAC-SHA256(ts.body)``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def encode(event: dict) -> str:
    """The JSON body Stripe would post."""
    return json.dumps(event, separators=(",", ":"))

"""The simulated Stripe stream: signed like Stripe signs, shaped like Stripe's objects."""

from __future__ import annotations

import json

import pytest
import stripe

from bento_stripe import simulation

pytestmark = pytest.mark.django_db


def test_stream_covers_the_demo_story_with_fresh_ids():
    first = simulation.stream("acct_1", "jane@example.com")
    again = simulation.stream("acct_1", "jane@example.com")
    assert [e["type"] for e in first] == [
        "customer.created",
        "customer.subscription.created",
        "invoice.paid",
        "charge.succeeded",
        "charge.refunded",
        "charge.failed",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    assert {e["id"] for e in first}.isdisjoint(e["id"] for e in again)
    assert all(e["account"] == "acct_1" and e["livemode"] is False for e in first)
    created = [e["created"] for e in first]
    assert created == sorted(created)
    refund = first[4]["data"]["object"]
    assert (refund["amount_captured"], refund["amount_refunded"], refund["currency"]) == (
        4900,
        1500,
        "usd",
    )
    invoice = first[2]["data"]["object"]
    assert invoice["parent"]["subscription_details"]["subscription"].startswith("sub_sim")


def test_signature_verifies_with_stripes_own_check():
    event = simulation.stream("acct_1", "jane@example.com")[0]
    body = simulation.encode(event)
    header = simulation.signature(body, "whsec_test_secret")
    stripe.WebhookSignature.verify_header(body, header, "whsec_test_secret", tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body, header, "whsec_other", tolerance=300)
    assert json.loads(body)["id"] == event["id"]

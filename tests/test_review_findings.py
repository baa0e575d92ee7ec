"""Contract points of the docs (docs/how-it-works.rst) found broken by an independent review, now held by tests.

Each test pins a contract point that an independent review found broken and that was
then fixed: currency and customer choice, and money released from an authorisation.
"""

from __future__ import annotations

import copy

import pytest

from bento_stripe.ledger.person import person_fields
from bento_stripe.ledger.shapes import Charge, Customer, Person
from bento_stripe.models import OutboxEvent, Subscriber

from .stripe_events import load


def _charge_event(event_id: str, event_type: str, created: int, **charge):
    event = load("charge_succeeded")
    event = copy.deepcopy(event)
    event["id"] = event_id
    event["type"] = event_type
    event["created"] = created
    event["data"]["object"].update(charge)
    return event


def test_newest_customer_without_currency_falls_back_to_first_captured_charge():
    person = Person(
        customers=(
            Customer("cus_old", created=1, currency="eur"),
            Customer("cus_new", created=2, currency=""),  # Stripe set no currency on it
        ),
        charges=(Charge("ch_1", "usd", created=3, captured=1000),),
    )
    fields = person_fields(person)
    assert fields["currency"] == "USD"
    assert fields["lifetime_value"] == 10


def test_stripe_customer_id_is_the_most_recently_created_customer():
    person = Person(
        customers=(
            Customer("cus_old", created=1, currency="usd"),
            Customer("cus_new", created=2, currency="usd", deleted=True),
        ),
    )
    assert person_fields(person)["stripe_customer_id"] == "cus_new"


@pytest.mark.django_db
def test_partial_capture_release_is_not_money_refunded(account, deliver, no_lookup):
    # Authorised 49.00, captured 30.00: Stripe releases 19.00 and reports it as refunded.
    captured = _charge_event(
        "evt_review_capture1",
        "charge.captured",
        1795852900,
        amount=4900,
        amount_captured=3000,
        amount_refunded=1900,
        captured=True,
    )
    deliver(load("customer_created"), captured)
    row = OutboxEvent.objects.get(stripe_event_id="evt_review_capture1", kind="event")
    assert row.payload["details"]["value"] == {"currency": "USD", "amount": 3000}
    assert Subscriber.objects.get(email="jane@example.com").fields["lifetime_value"] == 30


@pytest.mark.django_db
def test_released_authorisation_moves_no_money(account, deliver, no_lookup):
    released = _charge_event(
        "evt_review_release1",
        "charge.refunded",
        1795852900,
        amount=4900,
        amount_captured=0,
        amount_refunded=4900,
        captured=False,
        refunded=True,
    )
    deliver(load("customer_created"), released)
    row = OutboxEvent.objects.get(stripe_event_id="evt_review_release1", kind="event")
    assert "value" not in row.payload["details"]
    assert Subscriber.objects.get(email="jane@example.com").fields["lifetime_value"] == 0

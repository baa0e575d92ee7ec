"""The Bento event as Bento gets it (``bento_stripe.bento.event``): built once by processing,
stored as it will be sent, read back by delivery with only the fields swapped. Rows
written before it existed (tests/outbox_items/, captured from that code) deliver the same,
byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from bento_stripe import bento
from bento_stripe.bento.event import MRR_CHANGED, Origin, OutboundEvent
from bento_stripe.delivery.worker import drain_site
from bento_stripe.models import OutboxEvent
from tests.factories import OutboxEventFactory, SiteFactory, SubscriberFactory

from .stripe_events import load

#: A ``charge.succeeded`` path (customer, subscription, charge) as the code before
#: ``OutboundEvent`` stored its rows and sent them.
CAPTURED = json.loads((Path(__file__).parent / "outbox_items" / "charge_path.json").read_text())

#: Items as processing has always stored them: a charge with a value, an event without
#: one, a ``$MrrChanged``.
STORED = [
    {
        "type": "$ChargeSucceeded",
        "email": "jane@example.com",
        "date": "2026-11-28T10:00:00Z",
        "fields": {"lifetime_value": 49, "currency": "USD"},
        "details": {
            "stripe_event_id": "evt_1",
            "stripe_account": "acct_1",
            "livemode": False,
            "object_id": "ch_1",
            "amount": 4900,
            "invoice": None,
            "value": {"currency": "USD", "amount": 4900},
            "unique": {"key": "ch_1"},
        },
    },
    {
        "type": "$CustomerUpdated",
        "email": "",
        "date": "2026-11-28T10:00:01Z",
        "fields": {},
        "details": {
            "stripe_event_id": "evt_2",
            "stripe_account": "acct_1",
            "livemode": True,
            "object_id": "cus_1",
        },
    },
    {
        "type": MRR_CHANGED,
        "email": "jane@example.com",
        "date": "2026-11-28T10:00:02Z",
        "fields": {"mrr": 29},
        "details": {
            "stripe_event_id": "evt_3",
            "stripe_account": "acct_1",
            "livemode": False,
            "object_id": "sub_1",
            "movement": "new",
            "mrr": 29,
            "previous_mrr": 0,
            "currency": "USD",
            "subscription": "sub_1",
            "unique": {"key": "evt_3:mrr"},
        },
    },
]


def exact(value) -> str:
    """JSON text with the keys in their order: what goes over the wire."""
    return json.dumps(value)


def same_as_read_back(got, expected) -> bool:
    """The same JSON; and the same text where the database keeps the key order (SQLite's
    JSON is text; PostgreSQL's ``jsonb`` orders keys its own way, for the old code too)."""
    if connection.vendor == "postgresql":
        return got == expected
    return exact(got) == exact(expected)


@pytest.mark.parametrize("item", STORED, ids=lambda i: i["type"])
def test_a_stored_item_reads_back_key_for_key(item):
    event = OutboundEvent.from_item(item)
    assert exact(event.to_item()) == exact(item)
    assert event.unique_key == (item["details"].get("unique") or {}).get("key")
    assert "unique" not in event.details


def test_reading_an_item_leaves_it_as_it_is():
    item = json.loads(exact(STORED[0]))
    event = OutboundEvent.from_item(item)
    event.details["amount"] = 1
    event.fields["currency"] = "EUR"
    assert item == STORED[0]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    details=st.dictionaries(st.text(max_size=8), json_values, max_size=6),
    unique=st.none() | st.text(max_size=8) | json_values,
    unique_first=st.booleans(),
    fields=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)
def test_any_stored_item_reads_back_whole(details, unique, unique_first, fields):
    """Whatever ``details`` hold, the item comes back whole; key for key in the same order
    when ``unique`` is last, as processing stores it (elsewhere, read from ``jsonb``, it
    comes back last)."""
    details.pop("unique", None)
    if unique is not None:
        details = (
            {"unique": {"key": unique}, **details}
            if unique_first
            else {**details, "unique": {"key": unique}}
        )
    item = {"type": "$X", "email": "a@example.com", "date": "D", "fields": fields}
    item["details"] = details
    event = OutboundEvent.from_item(item)
    assert event.to_item() == item
    if list(details)[-1:] == ["unique"] or unique is None:
        assert exact(event.to_item()) == exact(item)
    assert event.unique_key == (unique if isinstance(unique, str) else None)


def test_a_unique_that_is_not_a_key_stays_in_the_details():
    item = {**STORED[1], "details": {**STORED[1]["details"], "unique": {"key": 7}}}
    event = OutboundEvent.from_item(item)
    assert (event.unique_key, event.details["unique"]) == (None, {"key": 7})
    assert exact(event.to_item()) == exact(item)


def test_an_item_without_email_takes_the_rows_and_one_without_date_stays_undated():
    event = OutboundEvent.from_item({"type": "$X", "details": {}}, email="a@example.com")
    assert event.to_item() == {"type": "$X", "email": "a@example.com", "fields": {}, "details": {}}
    assert OutboundEvent.from_item({"email": ""}, email="a@example.com").email == ""


def test_an_mrr_change_is_built_as_it_is_stored():
    move = {"movement": "new", "mrr": 29, "previous_mrr": 0, "currency": "USD"}
    built = OutboundEvent.mrr_changed(
        Origin("evt_3", "acct_1", False, "sub_1"),
        {**move, "subscription": "sub_1"},
        email="jane@example.com",
        date="2026-11-28T10:00:02Z",
        fields={"mrr": 29},
    )
    assert exact(built.to_item()) == exact(STORED[2])


def test_details_of_a_translator_never_replace_the_stripe_keys():
    built = OutboundEvent.about(
        "$X",
        Origin("evt_1", "acct_1", False, "ch_1"),
        email="a@example.com",
        date="D",
        fields={},
        details={"stripe_event_id": "forged", "note": "kept"},
        value=("JPY", 500),
        unique_key="ch_1",
    )
    assert built.to_item()["details"] == {
        "stripe_event_id": "evt_1",
        "stripe_account": "acct_1",
        "livemode": False,
        "object_id": "ch_1",
        "note": "kept",
        "value": {"currency": "JPY", "amount": 500},
        "unique": {"key": "ch_1"},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("known", [True, False], ids=["with a Subscriber", "without"])
def test_a_row_stored_before_is_delivered_identically(known):
    """Only ``fields`` change, to the person's current ones; without a Subscriber row the
    stored fields go."""
    bento.outbox.clear()
    site = SiteFactory()
    current = {"lifetime_value": 60, "currency": "USD", "mrr": 29}
    if known:
        SubscriberFactory(site=site, email="jane@example.com", fields=current)
    for n, item in enumerate(STORED):
        OutboxEventFactory(
            site=site,
            email=item["email"] or "jane@example.com",
            event_type=item["type"],
            stripe_event_id=f"evt_{n + 1}",
            payload=json.loads(exact(item)),
        )
    drain_site(site.pk)
    sent = [item for batch in bento.outbox for item in batch.items]
    # The fields are the row's person's (its ``email`` column), even under an item that
    # names no email: as before.
    expected = [{**item, "fields": current} if known else item for item in STORED]
    assert same_as_read_back(sent, expected)
    bento.outbox.clear()


@pytest.mark.django_db
def test_processing_stores_and_delivery_sends_what_the_code_before_did(account, deliver, no_lookup):
    """A customer, their subscription and a ``charge.succeeded``: every stored row and every
    request body is the one the code before ``OutboundEvent`` made, byte for byte."""
    bento.outbox.clear()
    deliver(
        load("customer_created"), load("customer_subscription_created"), load("charge_succeeded")
    )
    rows = OutboxEvent.objects.order_by("created_at", "pk")
    stored = [[r.kind, r.event_type, r.email, r.payload] for r in rows]
    assert same_as_read_back(stored, CAPTURED["rows"])
    sent = [[b.endpoint, b.items] for b in bento.outbox]
    assert same_as_read_back(sent, CAPTURED["bodies"])
    bento.outbox.clear()

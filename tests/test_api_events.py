"""The REST API over recorded events and people, fed by signed webhooks (real processing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bento_stripe import bento
from bento_stripe.models import Membership, OutboxEvent, StripeEventRecord

from .api_helpers import assert_error, client_for, delivered_row, record_event, snapshot
from .factories import MembershipFactory, StripeAccountFactory
from .stripe_events import load

pytestmark = pytest.mark.django_db

HISTORY = [
    "customer_created",
    "charge_succeeded",
    "charge_refunded_partial",
    "charge_dispute_closed_lost",
    "customer_subscription_created",
]


@pytest.fixture
def fed(account, deliver, no_lookup):
    """The webhook account after a customer, a charge, a refund, a lost dispute and a subscription."""
    bento.outbox.clear()
    responses = deliver(*[load(name) for name in HISTORY])
    assert [r.status_code for r in responses] == [200] * len(HISTORY)
    owner = MembershipFactory(team=account.team, role=Membership.Role.OWNER).user
    member = MembershipFactory(team=account.team, role=Membership.Role.MEMBER).user
    yield {"account": account, "owner": owner, "member": member}
    bento.outbox.clear()


def events_url(account, suffix=""):
    return f"/api/stripe-accounts/{account.pk}/events/{suffix}"


def test_events_list_status_reason_and_delivery(fed):
    page = client_for(fed["member"]).get(events_url(fed["account"])).json()
    assert page["count"] == len(HISTORY)
    by_id = {e["id"]: e for e in page["results"]}
    charge = by_id["evt_1TChargeSucceeded1"]
    assert (charge["type"], charge["status"], charge["reason"]) == (
        "charge.succeeded",
        "processed",
        "",
    )
    assert [(d["type"], d["status"], d["email"]) for d in charge["deliveries"]] == [
        ("$ChargeSucceeded", "delivered", "jane@example.com")
    ]
    assert charge["deliveries"][0]["delivered_at"]
    # Newest first.
    received = [e["received_at"] for e in page["results"]]
    assert received == sorted(received, reverse=True)


def test_an_ignored_event_shows_its_reason(fed):
    # An event of the same account in the other mode belongs to another connection.
    record_event(fed["account"], "evt_other_mode", livemode=True)
    listed = client_for(fed["member"]).get(events_url(fed["account"])).json()["results"]
    assert "evt_other_mode" not in [e["id"] for e in listed]
    ignored = record_event(
        fed["account"], "evt_ignored_01", status=StripeEventRecord.Status.IGNORED, note="no email"
    )
    body = client_for(fed["member"]).get(events_url(fed["account"], f"{ignored.stripe_event_id}/"))
    assert body.json()["status"] == "ignored" and body.json()["reason"] == "no email"
    assert body.json()["deliveries"] == []


@pytest.mark.parametrize(
    "query, expected",
    [
        ("type=charge.succeeded", {"evt_1TChargeSucceeded1"}),
        (
            "type=charge.",
            {"evt_1TChargeSucceeded1", "evt_1TChargeRefunded01", "evt_1TDisputeClosed01"},
        ),
        ("status=failed", set()),
        ("status=processed&type=customer.created", {"evt_1TCustomerCreated01"}),
        ("delivery_status=pending", set()),
    ],
)
def test_events_filters(fed, query, expected):
    page = client_for(fed["member"]).get(events_url(fed["account"], f"?{query}")).json()
    assert {e["id"] for e in page["results"]} == expected


def test_delivery_status_filter_finds_failed_rows(fed):
    OutboxEvent.objects.filter(stripe_event_id="evt_1TChargeRefunded01").update(status="dead")
    page = client_for(fed["member"]).get(events_url(fed["account"], "?delivery_status=dead"))
    assert [e["id"] for e in page.json()["results"]] == ["evt_1TChargeRefunded01"]


def test_events_of_an_earlier_holder_of_the_account_are_not_shown(db):
    first = StripeAccountFactory(
        stripe_user_id="acct_shared", status="disconnected", connected_at=timezone.now()
    )
    record_event(first, "evt_first_holder")
    StripeEventRecord.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    first.connected_at = timezone.now() - timedelta(minutes=10)
    first.save()
    second = StripeAccountFactory(stripe_user_id="acct_shared")
    record_event(second, "evt_second_holder")
    owner = MembershipFactory(team=second.team).user
    ids = [e["id"] for e in client_for(owner).get(events_url(second)).json()["results"]]
    assert ids == ["evt_second_holder"]
    first_owner = MembershipFactory(team=first.team).user
    ids = [e["id"] for e in client_for(first_owner).get(events_url(first)).json()["results"]]
    assert ids == ["evt_first_holder"]


def test_events_list_query_count_is_fixed(world, django_assert_max_num_queries):
    account = world["account"]
    for n in range(20):
        event = record_event(account, f"evt_many_{n:03d}")
        delivered_row(account, event.stripe_event_id, email=f"p{n}@example.com")
    client = client_for(world["member"])
    # session, user, memberships, connection, its successor, count, events, their rows
    with django_assert_max_num_queries(8):
        page = client.get(events_url(account)).json()
    assert page["count"] == 21 and all(e["deliveries"] for e in page["results"])


# --- Replay ---


def test_replay_sends_the_events_delivered_rows_again(fed, django_capture_on_commit_callbacks):
    account = fed["account"]
    sent_before = [
        i["details"]["stripe_event_id"] for b in bento.outbox for i in b.items if "details" in i
    ].count("evt_1TChargeSucceeded1")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(fed["owner"]).post(
            events_url(account, "evt_1TChargeSucceeded1/replay/")
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["replayed"], body["skipped"]) == (1, 0)
    assert body["event"]["id"] == "evt_1TChargeSucceeded1"
    # Sync mode: the drain ran after the commit and Bento got the row again.
    sent_after = [
        i["details"]["stripe_event_id"] for b in bento.outbox for i in b.items if "details" in i
    ].count("evt_1TChargeSucceeded1")
    assert sent_after == sent_before + 1
    row = OutboxEvent.objects.get(stripe_event_id="evt_1TChargeSucceeded1")
    assert row.status == OutboxEvent.Status.DELIVERED


def test_replay_with_nothing_delivered_is_409_and_changes_nothing(fed):
    account = fed["account"]
    OutboxEvent.objects.filter(stripe_event_id="evt_1TChargeSucceeded1").update(status="failed")
    before = snapshot()
    response = client_for(fed["owner"]).post(events_url(account, "evt_1TChargeSucceeded1/replay/"))
    body = assert_error(response, 409, "conflict")
    assert "evt_1TChargeSucceeded1" in body["detail"]
    assert snapshot() == before


def test_replay_of_an_event_without_rows_is_409(fed):
    event = record_event(fed["account"], "evt_no_rows", status="ignored", note="unknown type")
    before = snapshot()
    response = client_for(fed["owner"]).post(
        events_url(fed["account"], f"{event.stripe_event_id}/replay/")
    )
    assert_error(response, 409, "conflict")
    assert snapshot() == before


# --- People and their ledger rows ---


def test_subscriber_by_site_and_email_has_the_ledger_rows(fed):
    account = fed["account"]
    client = client_for(fed["member"])
    page = client.get(f"/api/subscribers/?site={account.site_id}&email=JANE@example.com").json()
    assert page["count"] == 1
    person = page["results"][0]
    assert person["email"] == "jane@example.com"
    assert person["fields"]["lifetime_value"] is not None
    assert [
        (c["charge_id"], c["captured"], c["refunded"], c["currency"]) for c in person["charges"]
    ] == [("ch_3TJane0001", 4900, 1500, "usd")]
    assert [(r["charge_id"], r["amount"]) for r in person["refunds"]] == [("ch_3TJane0001", 1500)]
    assert [(d["dispute_id"], d["amount"], d["lost"]) for d in person["disputes"]] == [
        ("dp_TJane0001", 4900, True)
    ]
    assert [(s["subscription_id"], s["status"]) for s in person["subscriptions"]] == [
        ("sub_TJane0001", "active")
    ]
    assert (
        person["subscriptions"][0]["items"] and person["subscriptions"][0]["items"][0]["price_id"]
    )
    detail = client.get(f"/api/subscribers/{person['id']}/").json()
    assert detail == person


def test_a_disconnected_accounts_rows_are_no_longer_behind_the_person(fed):
    account = fed["account"]
    account.status = "disconnected"
    account.save()
    person = client_for(fed["member"]).get(f"/api/subscribers/?site={account.site_id}").json()
    assert person["results"][0]["charges"] == []


def test_subscribers_query_count_is_fixed(fed, django_assert_max_num_queries):
    from .factories import SubscriberFactory

    for n in range(15):
        SubscriberFactory(site=fed["account"].site, email=f"p{n}@example.com")
    client = client_for(fed["member"])
    # session, user, memberships, count, page, connections, charges, subscriptions, disputes
    with django_assert_max_num_queries(9):
        page = client.get("/api/subscribers/").json()
    assert page["count"] == 16


@pytest.mark.parametrize(
    "query",
    [
        "received_before=3304-07-07T01:57:38.56%2B16:06",  # an offset PostgreSQL refuses
        "received_after=0001-01-01T00:00:00%2B15:00",  # before year 1 in UTC
        "received_before=9999-12-31T23:59:59-15:00",  # after 9999 in UTC
    ],
)
def test_any_iso_datetime_is_a_filter_not_an_error(world, query):
    response = client_for(world["member"]).get(events_url(world["account"], f"?{query}"))
    assert response.status_code == 200, response.content

"""Translators end to end: signed payloads → view → task → ledger → Subscriber and outbox."""

from __future__ import annotations

import pytest

from bento_stripe.models import OutboxEvent, StripeEventRecord, Subscriber
from bento_stripe.translators import bento_type, registry

from .stripe_events import load

pytestmark = pytest.mark.django_db

REQUIRED_TYPES = """
charge.succeeded charge.captured charge.failed charge.refunded charge.refund.updated
charge.dispute.created charge.dispute.closed customer.created customer.updated customer.deleted
customer.subscription.created customer.subscription.updated customer.subscription.deleted
customer.subscription.paused customer.subscription.resumed customer.subscription.trial_will_end
invoice.paid invoice.payment_succeeded invoice.payment_failed invoice.upcoming
invoice.payment_action_required checkout.session.completed account.application.deauthorized
customer.discount.created customer.discount.updated customer.discount.deleted
invoice.created invoice.finalized invoice.voided invoice.marked_uncollectible
charge.dispute.funds_withdrawn charge.dispute.funds_reinstated
""".split()


#: A row ready for Bento: pending, or already sent (sync mode runs the drain in-process).
READY = {OutboxEvent.Status.PENDING, OutboxEvent.Status.DELIVERED}


def events_by_type():
    return {row.event_type: row for row in OutboxEvent.objects.filter(kind="event")}


def fields_of(email="jane@example.com"):
    return Subscriber.objects.get(email=email).fields


@pytest.mark.parametrize(
    ("stripe_type", "expected"),
    [
        ("charge.succeeded", "$ChargeSucceeded"),
        ("invoice.payment_failed", "$InvoicePaymentFailed"),
        ("customer.updated", "$CustomerUpdated"),
        ("customer.subscription.trial_will_end", "$CustomerSubscriptionTrialWillEnd"),
        ("charge.refund.updated", "$ChargeRefundUpdated"),
        ("checkout.session.completed", "$CheckoutSessionCompleted"),
    ],
)
def test_bento_type_names(stripe_type, expected):
    assert bento_type(stripe_type) == expected


def test_every_required_type_has_a_translator():
    assert set(REQUIRED_TYPES) <= set(registry.handled_types())


def test_a_customers_life_gives_exact_events_and_fields(account, deliver, no_lookup):
    names = [
        "customer_created",
        "checkout_session_completed",
        "customer_subscription_created",
        "invoice_paid",
        "charge_succeeded",
        "charge_refunded_partial",
        "charge_refunded_more",
        "charge_refund_updated",
        "charge_succeeded_jpy",
        "charge_succeeded_legacy",
        "charge_failed",
        "invoice_payment_failed_legacy",
        "customer_subscription_updated_legacy",
    ]
    responses = deliver(*[load(n) for n in names])
    assert {r.status_code for r in responses} == {200}
    assert set(StripeEventRecord.objects.values_list("status", flat=True)) == {"processed"}
    rows = OutboxEvent.objects.filter(kind="event")
    values = {
        row.dedupe_key: row.payload["details"].get("value")
        for row in rows
        if "value" in row.payload["details"]
    }
    assert values == {
        "evt_1TChargeSucceeded1:$ChargeSucceeded": {"currency": "USD", "amount": 4900},
        "evt_1TChargeRefunded01:$ChargeRefunded": {"currency": "USD", "amount": -1500},
        "evt_1TChargeRefunded02:$ChargeRefunded": {"currency": "USD", "amount": -2500},
        "evt_1TChargeSuccJpy01:$ChargeSucceeded": {"currency": "JPY", "amount": 5000},
        "evt_1TChargeSuccLegacy:$ChargeSucceeded": {"currency": "USD", "amount": 2500},
    }
    movements = [
        (
            r.payload["details"]["movement"],
            r.payload["details"]["previous_mrr"],
            r.payload["details"]["mrr"],
        )
        for r in rows.filter(event_type="$MrrChanged").order_by("pk")
    ]
    # Pro at 49.00 a month, then the yearly price (980.00 a year = 81.67 a month).
    assert movements == [("new", 0, 49), ("expansion", 49, 81.67)]
    keys = sorted(
        r.payload["details"]["unique"]["key"]
        for r in rows.exclude(event_type="$MrrChanged")
        if r.payload["details"].get("unique")
    )
    assert keys == [
        "ch_1TJaneLegacy1",
        "ch_3TJane0001",
        "ch_3TJane0001:refunded:1500",
        "ch_3TJane0001:refunded:4000",
        "ch_3TJaneJpy0001",
    ]
    for row in rows:
        assert row.email == "jane@example.com" and row.status in READY
        assert row.payload["details"]["stripe_account"] == "acct_1BentoTestShop01"
        assert row.payload["details"]["livemode"] is False
        assert row.payload["date"].endswith("Z")
    legacy_charge = OutboxEvent.objects.get(stripe_event_id="evt_1TChargeSuccLegacy")
    assert legacy_charge.payload["details"]["invoice"] == "in_TJaneLegacy1"
    paid = OutboxEvent.objects.get(event_type="$InvoicePaid").payload
    assert paid["date"] == "2026-11-28T08:00:05Z"
    assert paid["details"]["subscription"] == "sub_TJane0001"  # parent.subscription_details
    failed = OutboxEvent.objects.get(event_type="$InvoicePaymentFailed").payload
    assert failed["details"]["subscription"] == "sub_TJane0001"  # legacy invoice.subscription
    assert failed["details"]["charge"] == "ch_3TJane0001"
    assert failed["details"]["next_payment_attempt"] == "2026-12-01T08:00:00Z"
    sub = OutboxEvent.objects.get(event_type="$CustomerSubscriptionUpdated").payload
    assert sub["details"]["current_period_end"] == "2026-12-28T08:00:00Z"  # legacy, top level
    assert sub["details"]["plan"] == "Pro yearly"
    # 4900 - 4000 + 2500 cents; yearly 490.00 × 2 ÷ 12 = 81.666… → 81.67.
    assert fields_of() == {
        "lifetime_value": 34,
        "lifetime_value_jpy": 5000,
        "currency": "USD",
        "mrr": 81.67,
        "plan": "Pro yearly",
        "subscription_status": "active",
        "stripe_customer_id": "cus_TJane0001",
        "products": "prod_TPro0001",  # no product event and no lookup: named by its id
        "purchases": 3,
        "last_purchase_at": "2026-11-28T08:01:00Z",
    }
    assert sub["fields"] == fields_of()


def test_cancelled_subscription_reads_canceled_with_zero_mrr(account, deliver, no_lookup):
    deliver(
        load("customer_created"),
        load("customer_subscription_deleted"),
        load("customer_subscription_created"),  # older: must not resurrect the subscription
    )
    fields = fields_of()
    assert (fields["subscription_status"], fields["mrr"], fields["plan"]) == ("canceled", 0, "Pro")


def test_stale_events_never_undo_money(account, deliver, no_lookup):
    deliver(
        load("customer_created"),
        load("charge_refunded_more"),
        load("charge_refunded_partial"),
        load("charge_succeeded"),
    )
    values = [
        (r.payload["details"]["unique"]["key"], r.payload["details"]["value"]["amount"])
        for r in OutboxEvent.objects.filter(kind="event")
        if "value" in r.payload["details"]
    ]
    assert sorted(values) == [("ch_3TJane0001", 4900), ("ch_3TJane0001:refunded:4000", -4000)]
    assert fields_of()["lifetime_value"] == 9  # 49.00 − 40.00


def test_lost_dispute_takes_the_amount_off_once(account, deliver, no_lookup):
    deliver(
        load("customer_created"),
        load("charge_succeeded"),
        load("charge_dispute_created"),
        load("charge_dispute_closed_lost"),
    )
    closed = OutboxEvent.objects.get(event_type="$ChargeDisputeClosed").payload
    assert closed["details"]["value"] == {"currency": "USD", "amount": -4900}
    assert closed["details"]["unique"] == {"key": "dp_TJane0001:lost"}
    assert closed["email"] == "jane@example.com"
    created = OutboxEvent.objects.get(event_type="$ChargeDisputeCreated").payload
    assert "value" not in created["details"]
    assert fields_of()["lifetime_value"] == 0


def test_invoice_and_checkout_never_move_money(account, deliver, no_lookup):
    deliver(load("customer_created"), load("checkout_session_completed"), load("invoice_paid"))
    for row in OutboxEvent.objects.all():
        assert "value" not in row.payload["details"]
    assert fields_of()["lifetime_value"] == 0


def test_event_without_known_email_is_held_then_released(account, deliver, no_lookup):
    charge = load("charge_succeeded")
    charge["data"]["object"]["billing_details"]["email"] = None
    charge["data"]["object"]["receipt_email"] = None
    deliver(charge)
    held = OutboxEvent.objects.get()
    assert held.status == OutboxEvent.Status.HELD
    assert (held.email, held.stripe_person_key) == ("", "cus_TJane0001")
    assert Subscriber.objects.count() == 0
    deliver(load("customer_created"))
    held.refresh_from_db()
    assert held.status in READY
    assert held.email == held.payload["email"] == "jane@example.com"
    assert held.payload["fields"]["lifetime_value"] == 49
    assert held.payload["details"]["value"] == {"currency": "USD", "amount": 4900}
    assert fields_of()["lifetime_value"] == 49


def test_email_is_looked_up_at_stripe_when_events_do_not_tell_it(account, deliver, stripe_api):
    customer = load("customer_created")["data"]["object"]
    stripe_api.add(account.stripe_user_id, customer)
    charge = load("charge_succeeded")
    charge["data"]["object"]["billing_details"]["email"] = None
    charge["data"]["object"]["receipt_email"] = None
    deliver(charge)
    row = OutboxEvent.objects.get()
    assert (row.status in READY, row.email) == (True, "jane@example.com")
    assert stripe_api.requests == [
        {
            "path": "/v1/customers/cus_TJane0001",
            "account": "acct_1BentoTestShop01",
            "authorization": "Bearer sk_test_platform_key_for_tests",
        }
    ]
    assert fields_of()["stripe_customer_id"] == "cus_TJane0001"


def test_a_failed_lookup_holds_the_event(account, deliver, stripe_api):
    charge = load("charge_succeeded")
    charge["data"]["object"]["billing_details"]["email"] = None
    charge["data"]["object"]["receipt_email"] = None
    deliver(charge)  # the stand-in answers 404
    assert OutboxEvent.objects.get().status == OutboxEvent.Status.HELD
    assert StripeEventRecord.objects.get().status == "processed"


def test_email_change_moves_the_person_and_their_value(account, deliver, no_lookup):
    deliver(load("customer_created"), load("charge_succeeded"), load("customer_updated_email"))
    command = OutboxEvent.objects.get(kind="command")
    assert command.payload == {
        "command": "change_email",
        "email": "jane@example.com",
        "query": "jane.doe@example.org",
    }
    updated = OutboxEvent.objects.get(event_type="$CustomerUpdated")
    assert command.pk < updated.pk and updated.email == "jane.doe@example.org"
    assert not Subscriber.objects.filter(email="jane@example.com").exists()
    assert fields_of("jane.doe@example.org")["lifetime_value"] == 49
    # A late charge event of the customer lands on the new email.
    deliver(load("charge_succeeded_jpy"))
    assert OutboxEvent.objects.get(stripe_event_id="evt_1TChargeSuccJpy01").email == (
        "jane.doe@example.org"
    )


def test_guest_charge_uses_the_charge_email(account, deliver, no_lookup):
    charge = load("charge_succeeded")
    charge["data"]["object"]["customer"] = None
    charge["data"]["object"]["billing_details"]["email"] = "Guest@Example.com"
    deliver(charge)
    row = OutboxEvent.objects.get()
    assert row.email == "guest@example.com"
    assert fields_of("guest@example.com")["lifetime_value"] == 49


def test_what_bento_receives_through_the_locmem_backend(account, deliver, no_lookup):
    from bento_stripe import bento
    from bento_stripe.delivery.worker import drain_site

    bento.outbox.clear()
    deliver(
        load("customer_created"),
        load("charge_succeeded"),
        load("charge_refunded_partial"),
        load("customer_updated_email"),
    )
    drain_site(account.site_id)  # whatever the after-commit drains left
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {"delivered"}
    sent: dict[str, list] = {}
    for batch in bento.outbox:
        assert batch.site_id == account.site_id
        sent.setdefault(batch.endpoint, []).extend(batch.items)
    assert [e["type"] for e in sent["batch/events"]] == [
        "$CustomerCreated",
        "$ChargeSucceeded",
        "$ChargeRefunded",
        "$CustomerUpdated",
    ]
    refund = sent["batch/events"][2]
    assert refund["details"]["value"] == {"currency": "USD", "amount": -1500}
    assert refund["details"]["unique"] == {"key": "ch_3TJane0001:refunded:1500"}
    assert sent["fetch/commands"] == [
        {"command": "change_email", "email": "jane@example.com", "query": "jane.doe@example.org"}
    ]
    assert sent["batch/events"][3]["fields"]["lifetime_value"] == 34
    bento.outbox.clear()


def test_the_sweeper_looks_held_people_up_again(account, deliver, stripe_api, sync_q):
    from datetime import timedelta

    from django.utils import timezone

    from bento_stripe.processing.tasks import lookup_held as sweep

    charge = load("charge_succeeded")
    charge["data"]["object"]["billing_details"]["email"] = None
    charge["data"]["object"]["receipt_email"] = None
    deliver(charge)  # Stripe does not know the customer yet (404): held
    row = OutboxEvent.objects.get()
    assert row.status == OutboxEvent.Status.HELD
    assert sweep() == 0 and len(stripe_api.requests) == 1  # too early to ask again
    OutboxEvent.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    sweep()  # asked again, still unknown: the next question waits an hour
    row.refresh_from_db()
    assert len(stripe_api.requests) == 2 and row.status == OutboxEvent.Status.HELD
    assert row.next_attempt_at > timezone.now() + timedelta(minutes=50)
    stripe_api.add(account.stripe_user_id, load("customer_created")["data"]["object"])
    OutboxEvent.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    sweep()
    row.refresh_from_db()
    assert (row.status in READY, row.email) == (True, "jane@example.com")
    assert row.payload["fields"]["lifetime_value"] == 49
    assert fields_of()["lifetime_value"] == 49
    asked = len(stripe_api.requests)
    sweep()
    assert len(stripe_api.requests) == asked  # nothing held: nothing asked


PAYLOAD_OF_FAMILY = [
    ("charge.dispute.", "charge_dispute_created"),
    ("charge.refund.", "charge_refund_updated"),
    ("charge.", "charge_succeeded"),
    ("customer.subscription.", "customer_subscription_created"),
    ("customer.discount.", "customer_discount_created"),
    ("customer.", "customer_created"),
    ("invoice.", "invoice_paid"),
    ("checkout.", "checkout_session_completed"),
]


@pytest.mark.parametrize("stripe_type", [t for t in REQUIRED_TYPES if not t.startswith("account.")])
def test_every_required_type_gives_its_bento_event(account, deliver, no_lookup, stripe_type):
    deliver(load("customer_created"), load("charge_succeeded"))
    name = next(payload for prefix, payload in PAYLOAD_OF_FAMILY if stripe_type.startswith(prefix))
    event = load(name)
    event.update(id=f"evt_1TEvery{stripe_type.replace('.', '_')}", type=stripe_type)
    deliver(event)
    row = OutboxEvent.objects.exclude(event_type="$MrrChanged").get(stripe_event_id=event["id"])
    assert row.event_type == bento_type(stripe_type)
    assert row.email == "jane@example.com" and row.status in READY
    assert row.payload["details"]["stripe_event_id"] == event["id"]

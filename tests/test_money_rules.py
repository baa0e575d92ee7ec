"""The money rules of the ``mrr`` field (docs/how-it-works.rst) against payload files (current and older shapes).

Every expected number is worked out from the rules in the comment beside it.
"""

from __future__ import annotations

import pytest

from bento_stripe.models import OutboxEvent, StripeEventRecord, Subscriber

from .stripe_events import load

pytestmark = pytest.mark.django_db


def fields_of(email: str = "jane@example.com") -> dict:
    return Subscriber.objects.get(email=email).fields


def sent(event_id: str) -> dict:
    """What Bento gets for one Stripe event (exactly one Bento event)."""
    return (
        OutboxEvent.objects.exclude(event_type="$MrrChanged")
        .get(stripe_event_id=event_id, kind="event")
        .payload
    )


def test_a_subscription_without_currency_takes_its_prices(account, deliver, no_lookup):
    event = load("customer_subscription_created_no_currency")
    deliver(load("customer_created"), event)
    payload = sent(event["id"])
    assert payload["type"] == "$CustomerSubscriptionCreated"
    assert "value" not in payload["details"]
    # Starter: 20.00 USD a month, quantity 1, the price's currency.
    assert fields_of() == {
        "lifetime_value": 0,
        "currency": "USD",
        "mrr": 20,
        "plan": "Starter",
        "subscription_status": "active",
        "stripe_customer_id": "cus_TJane0001",
        "products": "prod_TStarter01",  # never named: the catalogue knows no name for it
        "purchases": 0,
        "last_purchase_at": "",
    }
    assert payload["fields"] == fields_of()


def test_an_older_subscription_with_plan_and_quantity_and_no_items(account, deliver, no_lookup):
    event = load("customer_subscription_updated_plan_only")
    deliver(load("customer_created"), event)
    payload = sent(event["id"])
    assert payload["type"] == "$CustomerSubscriptionUpdated"
    assert payload["details"]["plan"] == "Gold Monthly"
    assert payload["details"]["current_period_end"] == "2026-12-28T07:03:20Z"
    # 15.00 USD × 3 a month; no nickname or product name: the plan's own name.
    fields = fields_of()
    assert (fields["mrr"], fields["plan"], fields["currency"]) == (45, "Gold Monthly", "USD")
    assert StripeEventRecord.objects.get(stripe_event_id=event["id"]).status == "processed"


def test_paused_collection_counts_zero_and_keeps_stripes_status(account, deliver, no_lookup):
    deliver(load("customer_created"), load("customer_subscription_created"))
    assert fields_of()["mrr"] == 49  # Pro, 49.00 USD a month
    event = load("customer_subscription_updated_pause_collection")
    deliver(event)
    payload = sent(event["id"])
    assert payload["type"] == "$CustomerSubscriptionUpdated"
    assert payload["details"]["status"] == "active"
    # Collection paused: no collectible invoices, so 0; the status stays Stripe's.
    assert fields_of() == {
        "lifetime_value": 0,
        "currency": "USD",
        "mrr": 0,
        "plan": "Pro",
        "subscription_status": "active",
        "stripe_customer_id": "cus_TJane0001",
        "products": "prod_TPro0001",
        "purchases": 0,
        "last_purchase_at": "",
    }
    resumed = load("customer_subscription_updated_pause_collection")
    resumed.update(id="evt_1TSubResumedColl1", created=resumed["created"] + 60)
    resumed["data"]["object"]["pause_collection"] = None
    deliver(resumed)
    assert fields_of()["mrr"] == 49


def test_transform_quantity_divides_and_rounds_the_billed_quantity(account, deliver, no_lookup):
    event = load("customer_subscription_created_transform_quantity")
    deliver(load("customer_created"), event)
    assert sent(event["id"])["details"]["plan"] == "Seats (per 10), Add-on (per 4)"
    # 25 seats ÷ 10 rounded up = 3 × 50.00; 7 ÷ 4 rounded down = 1 × 10.00: 160.00 a month.
    fields = fields_of()
    assert (fields["mrr"], fields["plan"]) == (160, "Seats (per 10), Add-on (per 4)")


def test_every_currencys_mrr_has_its_field(account, deliver, no_lookup):
    deliver(
        load("customer_created"),  # the customer's currency is USD: the main one
        load("customer_subscription_created_no_currency"),
        load("customer_subscription_created_eur"),
        load("customer_subscription_created_jpy"),
    )
    # USD: Starter 20.00; EUR: 10.00 a month; JPY: 10,000 a year ÷ 12 = 833.33… → 833 yen.
    fields = fields_of()
    assert {k: v for k, v in fields.items() if "mrr" in k} == {
        "mrr": 20,
        "mrr_eur": 10,
        "mrr_jpy": 833,
    }
    assert fields["currency"] == "USD" and "lifetime_value_eur" not in fields
    cancelled = load("customer_subscription_created_eur")
    cancelled.update(
        id="evt_1TSubEurCanceled1", type="customer.subscription.deleted", created=1795939999
    )
    cancelled["data"]["object"]["status"] = "canceled"
    deliver(cancelled)
    # A cancelled EUR subscription: the field goes to 0 (Bento keeps a field nobody sets).
    fields = fields_of()
    assert (fields["mrr"], fields["mrr_eur"], fields["mrr_jpy"]) == (20, 0, 833)
    assert fields["subscription_status"] == "active" and fields["plan"] == "Starter"


def test_a_customer_wide_coupon_lowers_mrr_until_it_is_deleted(account, deliver, no_lookup):
    deliver(
        load("customer_created"),
        load("customer_subscription_created"),  # Pro 49.00
        load("customer_subscription_created_no_currency"),  # Starter 20.00
    )
    assert fields_of()["mrr"] == 69
    created = load("customer_discount_created")
    deliver(created)
    payload = sent(created["id"])
    assert payload["type"] == "$CustomerDiscountCreated"
    assert "value" not in payload["details"]
    assert payload["details"]["coupon"] == "SPRING25"
    assert payload["details"]["percent_off"] == 25.0
    # 25 % off both subscriptions (neither has a coupon of its own): 69.00 × 0.75 = 51.75.
    assert fields_of()["mrr"] == 51.75
    assert payload["fields"]["mrr"] == 51.75
    deleted = load("customer_discount_deleted")
    deliver(deleted)
    assert sent(deleted["id"])["type"] == "$CustomerDiscountDeleted"
    assert fields_of()["mrr"] == 69


def test_a_late_deleted_coupon_event_is_not_undone_by_its_created(account, deliver, no_lookup):
    deliver(
        load("customer_created"),
        load("customer_subscription_created"),
        load("customer_discount_deleted"),
        load("customer_discount_created"),  # older than the deletion: changes nothing
    )
    assert fields_of()["mrr"] == 49


def test_the_customer_objects_discount_counts_too(account, deliver, no_lookup):
    deliver(load("customer_created"), load("customer_subscription_created"))
    deliver(load("customer_updated_discount"))
    # 5.00 off each monthly period of Pro: 49.00 − 5.00.
    assert fields_of()["mrr"] == 44


def test_discount_ids_resolve_from_discounts_seen_and_beat_the_customers(
    account, deliver, no_lookup
):
    deliver(
        load("customer_created"),
        load("customer_subscription_updated_discount_ids"),  # Pro with discounts ["di_TJaneSub01"]
        load("customer_subscription_created_no_currency"),  # Starter, no coupon of its own
        load("customer_discount_created"),  # 25 % customer-wide
    )
    # di_TJaneSub01 is not known yet: Pro's own coupon is unknown, so it keeps 49.00 and
    # the customer's coupon does not apply to it; Starter takes 25 % off: 15.00.
    assert fields_of()["mrr"] == 64
    deliver(load("customer_discount_created_subscription"))  # di_TJaneSub01: 10.00 off
    payload = sent("evt_1TCustDiscSub0001")
    assert payload["details"]["subscription"] == "sub_TJane0001"
    # Pro: 49.00 − 10.00 = 39.00; Starter: 15.00.
    assert fields_of()["mrr"] == 54


def test_a_coupon_given_only_by_id_changes_nothing_yet(account, deliver, no_lookup):
    deliver(load("customer_created"), load("customer_subscription_created"))
    event = load("customer_discount_created_current")
    deliver(event)
    payload = sent(event["id"])
    assert payload["details"]["coupon"] == "co_TWinter30"
    assert "percent_off" not in payload["details"]
    # The current API names the coupon by id only; with lookups off its terms stay unknown
    # and MRR stays 49.00.
    assert fields_of()["mrr"] == 49


def values() -> dict[str, dict]:
    """Bento event type → details.value, for the events that carry one."""
    return {
        row.event_type: row.payload["details"]["value"]
        for row in OutboxEvent.objects.filter(kind="event")
        if "value" in row.payload["details"]
    }


def test_invoice_lifecycle_events_are_news_not_money(account, deliver, no_lookup):
    finalized, voided = load("invoice_finalized"), load("invoice_voided_legacy")
    deliver(load("customer_created"), finalized, voided)
    first, second = sent(finalized["id"]), sent(voided["id"])
    assert (first["type"], second["type"]) == ("$InvoiceFinalized", "$InvoiceVoided")
    assert first["details"]["amount_due"] == 4900
    assert first["details"]["subscription"] == "sub_TJane0001"  # parent.subscription_details
    assert second["details"]["subscription"] == "sub_TJane0001"  # legacy invoice.subscription
    assert values() == {}  # money moves only on a charge's own events
    assert fields_of()["lifetime_value"] == 0
    for kind in ("created", "marked_uncollectible"):
        event = load("invoice_finalized")
        event.update(id=f"evt_1TInv{kind}", type=f"invoice.{kind}")
        deliver(event)
        assert sent(event["id"])["type"] == (
            "$InvoiceCreated" if kind == "created" else "$InvoiceMarkedUncollectible"
        )
    assert values() == {}


def test_dispute_funds_move_no_value_only_the_lost_close_does(account, deliver, no_lookup):
    withdrawn = load("charge_dispute_funds_withdrawn")
    deliver(load("customer_created"), load("charge_succeeded"), load("charge_dispute_created"))
    deliver(withdrawn)
    assert sent(withdrawn["id"])["type"] == "$ChargeDisputeFundsWithdrawn"
    assert values() == {"$ChargeSucceeded": {"currency": "USD", "amount": 4900}}
    assert fields_of()["lifetime_value"] == 49  # the outcome is not known yet
    deliver(load("charge_dispute_closed_lost"))
    assert values()["$ChargeDisputeClosed"] == {"currency": "USD", "amount": -4900}
    assert fields_of()["lifetime_value"] == 0


def test_reinstated_dispute_funds_leave_the_value_whole(account, deliver, no_lookup):
    reinstated = load("charge_dispute_funds_reinstated")
    deliver(
        load("customer_created"),
        load("charge_succeeded"),
        load("charge_dispute_funds_withdrawn"),
        reinstated,
    )
    payload = sent(reinstated["id"])
    assert (payload["type"], payload["details"]["status"]) == (
        "$ChargeDisputeFundsReinstated",
        "won",
    )
    assert values() == {"$ChargeSucceeded": {"currency": "USD", "amount": 4900}}
    assert fields_of()["lifetime_value"] == 49


def test_a_coupon_named_by_id_is_looked_up_at_stripe(account, deliver, stripe_api):
    stripe_api.add(
        account.stripe_user_id,
        {
            "id": "co_TWinter30",
            "object": "coupon",
            "percent_off": 30.0,
            "amount_off": None,
            "currency": None,
            "duration": "forever",
            "valid": True,
        },
    )
    deliver(load("customer_created"), load("customer_subscription_created"))
    deliver(load("customer_discount_created_current"))
    coupons = [r for r in stripe_api.requests if r["path"].startswith("/v1/coupons/")]
    assert [r["path"] for r in coupons] == ["/v1/coupons/co_TWinter30"]
    assert coupons[0]["account"] == "acct_1BentoTestShop01"
    # 30 % off Pro: 49.00 × 0.7 = 34.30.
    assert fields_of()["mrr"] == 34.3


def test_a_coupon_stripe_does_not_know_changes_nothing(account, deliver, stripe_api):
    deliver(load("customer_created"), load("customer_subscription_created"))
    event = load("customer_discount_created_current")
    deliver(event)  # the stand-in answers 404
    assert StripeEventRecord.objects.get(stripe_event_id=event["id"]).status == "processed"
    assert fields_of()["mrr"] == 49

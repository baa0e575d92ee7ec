"""Products in Bento events and fields: the catalogue, ``details.items``, checkout sessions,
product lookups, and ``$MrrChanged`` movements."""

from __future__ import annotations

import copy

import pytest

from bento_stripe.models import CatalogueProduct, OutboxEvent, StripeEventRecord, Subscriber
from bento_stripe.processing import tasks
from bento_stripe.webhooks.views import record_once

from .stripe_events import ACCOUNT_ID, load

pytestmark = pytest.mark.django_db

PRO = {"id": "prod_TPro0001", "object": "product", "name": "Pro course", "active": True}
KIT = {"id": "prod_TKit0001", "object": "product", "name": "Starter kit", "active": True}


def event(kind: str, obj: dict, n: int, created: int = 1_795_849_000) -> dict:
    """A Stripe event of the test account."""
    return {
        "id": f"evt_{kind.replace('.', '_')}_{n}",
        "object": "event",
        "type": kind,
        "created": created,
        "livemode": False,
        "account": ACCOUNT_ID,
        "api_version": "2025-10-29.clover",
        "data": {"object": copy.deepcopy(obj), "previous_attributes": {}},
    }


def price(price_id: str, product: str, amount: int, nickname=None, interval="month") -> dict:
    return {
        "id": price_id,
        "object": "price",
        "product": product,
        "nickname": nickname,
        "currency": "usd",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
        "billing_scheme": "per_unit",
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
    }


def subscription(n: int, status: str, *items: tuple[dict, int], created: int) -> dict:
    """``load("customer_subscription_created")`` with ``items`` ((price, quantity) pairs)."""
    sub = load("customer_subscription_created")
    sub.update(id=f"evt_sub_{n}", created=created)
    obj = sub["data"]["object"]
    obj["status"] = status
    template = obj["items"]["data"][0]
    obj["items"]["data"] = [
        {**copy.deepcopy(template), "id": f"si_{n}_{i}", "price": p, "quantity": q}
        for i, (p, q) in enumerate(items)
    ]
    return sub


def sent(event_id: str, kind: str | None = None) -> dict:
    rows = OutboxEvent.objects.filter(stripe_event_id=event_id, kind="event")
    rows = rows.filter(event_type=kind) if kind else rows.exclude(event_type="$MrrChanged")
    return rows.get().payload


def fields() -> dict:
    return Subscriber.objects.get(email="jane@example.com").fields


def movements() -> list[tuple]:
    return [
        (
            r.stripe_event_id,
            r.payload["details"]["movement"],
            r.payload["details"]["previous_mrr"],
            r.payload["details"]["mrr"],
        )
        for r in OutboxEvent.objects.filter(event_type="$MrrChanged").order_by("pk")
    ]


# --- items per shape -------------------------------------------------------------------------


def test_a_subscription_with_several_items_names_each_in_stripes_order(account, deliver, no_lookup):
    pro, kit = price("price_pro", "prod_TPro0001", 4900), price("price_kit", "prod_TKit0001", 500)
    deliver(
        load("customer_created"),
        event("product.created", PRO, 1),
        event("product.created", KIT, 2),
    )
    sub = subscription(1, "active", (pro, 1), (kit, 3), created=1_795_849_200)
    deliver(sub)
    details = sent(sub["id"])["details"]
    assert details["items"] == [
        {
            "product": "prod_TPro0001",
            "product_name": "Pro course",
            "price": "price_pro",
            "price_nickname": None,
            "quantity": 1,
            "amount": 4900,
            "currency": "USD",
            "interval": "month",
        },
        {
            "product": "prod_TKit0001",
            "product_name": "Starter kit",
            "price": "price_kit",
            "price_nickname": None,
            "quantity": 3,
            "amount": 1500,
            "currency": "USD",
            "interval": "month",
        },
    ]
    assert details["product_names"] == ["Pro course", "Starter kit"]
    # No nickname: the plan is the product names, and so are the products.
    assert fields()["plan"] == "Pro course, Starter kit"
    assert fields()["products"] == "Pro course, Starter kit"
    assert fields()["mrr"] == 64


def test_invoice_lines_of_the_current_shape_are_named_from_the_catalogue(
    account, deliver, no_lookup
):
    deliver(
        event("product.created", PRO, 1),
        event("price.created", price("price_TPro0001", "prod_TPro0001", 4900, "Pro"), 2),
    )
    invoice = load("invoice_paid")
    line = invoice["data"]["object"]["lines"]["data"][0]
    line["pricing"]["price_details"] = {"price": "price_TPro0001", "product": "prod_TPro0001"}
    deliver(invoice)
    details = sent(invoice["id"])["details"]
    assert details["items"] == [
        {
            "product": "prod_TPro0001",
            "product_name": "Pro course",
            "price": "price_TPro0001",
            "price_nickname": "Pro",
            "quantity": 1,
            "amount": 4900,
            "currency": "USD",
            "interval": "month",
        }
    ]
    assert details["product_names"] == ["Pro course"]


@pytest.mark.parametrize("key", ["price", "plan"])
def test_invoice_lines_of_the_2020_08_27_shape(account, deliver, no_lookup, key):
    deliver(event("product.created", PRO, 1))
    invoice = load("invoice_payment_failed_legacy")
    line = invoice["data"]["object"]["lines"]["data"][0]
    line.pop("pricing", None)
    if key == "price":
        line["price"] = price("price_TPro0001", "prod_TPro0001", 4900, "Pro monthly")
    else:  # a plan: the oldest shape, interval on the plan itself
        line["plan"] = {
            "id": "plan_pro",
            "object": "plan",
            "product": "prod_TPro0001",
            "nickname": "Pro monthly",
            "amount": 4900,
            "currency": "usd",
            "interval": "year",
            "interval_count": 1,
        }
    deliver(invoice)
    (item,) = sent(invoice["id"])["details"]["items"]
    assert item["product_name"] == "Pro course" and item["price_nickname"] == "Pro monthly"
    assert item["price"] == ("price_TPro0001" if key == "price" else "plan_pro")
    assert item["interval"] == ("month" if key == "price" else "year")
    assert (item["quantity"], item["amount"], item["currency"]) == (1, 4900, "USD")


def test_a_product_renamed_between_two_events(account, deliver, no_lookup):
    pro = price("price_pro", "prod_TPro0001", 4900)
    deliver(load("customer_created"), event("product.created", PRO, 1))
    first = subscription(1, "active", (pro, 1), created=1_795_849_200)
    deliver(first)
    assert sent(first["id"])["details"]["product_names"] == ["Pro course"]
    renamed = event("product.updated", {**PRO, "name": "Pro masterclass"}, 2, 1_795_849_300)
    deliver(renamed)
    # The person's fields follow the new name at once (no event of theirs needed).
    assert fields()["plan"] == "Pro masterclass"
    second = subscription(2, "active", (pro, 2), created=1_795_849_400)
    deliver(second)
    assert sent(second["id"])["details"]["product_names"] == ["Pro masterclass"]
    # A stale product event changes nothing; a deleted product keeps its last name.
    deliver(event("product.updated", {**PRO, "name": "Old"}, 3, 1_795_849_250))
    deliver(event("product.deleted", {**PRO, "name": "", "deleted": True}, 4, 1_795_849_500))
    row = CatalogueProduct.objects.get(product_id="prod_TPro0001")
    assert (row.name, row.deleted) == ("Pro masterclass", True)
    assert fields()["products"] == "Pro masterclass"


def test_a_product_never_seen_is_looked_up_once_then_known(account, deliver, stripe_api):
    stripe_api.add(ACCOUNT_ID, {**PRO, "name": "Pro from Stripe"})
    stripe_api.add(ACCOUNT_ID, load("customer_created")["data"]["object"])
    pro = price("price_pro", "prod_TPro0001", 4900)
    deliver(load("customer_created"), subscription(1, "active", (pro, 1), created=1_795_849_200))
    deliver(subscription(2, "active", (pro, 2), created=1_795_849_300))
    asked = [r["path"] for r in stripe_api.requests if "/products/" in r["path"]]
    assert asked == ["/v1/products/prod_TPro0001"]
    assert sent("evt_sub_2")["details"]["product_names"] == ["Pro from Stripe"]
    assert fields()["plan"] == "Pro from Stripe"


def test_a_webhook_price_without_nickname_gives_the_product_name_as_plan(
    account, deliver, stripe_api
):
    """The lookup runs in the processing task (never in the request), within the budget."""
    stripe_api.add(ACCOUNT_ID, {"id": "prod_Q", "object": "product", "name": "Quarterly Product"})
    quarterly = price("price_q", "prod_Q", 9000)
    quarterly["recurring"]["interval_count"] = 3
    deliver(
        load("customer_created"), subscription(1, "active", (quarterly, 1), created=1_795_849_200)
    )
    assert fields()["plan"] == "Quarterly Product"
    assert fields()["mrr"] == 30


# --- checkout sessions ---------------------------------------------------------------------


def _line_items(stripe_api) -> None:
    stripe_api.add(ACCOUNT_ID, PRO)
    stripe_api.add(
        ACCOUNT_ID,
        {
            "id": "cs_T1/line_items",
            "data": [
                {
                    "id": "li_1",
                    "object": "item",
                    "description": "Pro course",
                    "quantity": 2,
                    "amount_subtotal": 9800,
                    "amount_total": 9800,
                    "currency": "usd",
                    "price": price("price_pro", "prod_TPro0001", 4900, "Launch price", None),
                }
            ],
        },
    )


def test_a_completed_checkout_carries_its_line_items_looked_up(account, deliver, stripe_api):
    _line_items(stripe_api)
    done = load("checkout_session_completed")
    done["data"]["object"]["id"] = "cs_T1"
    deliver(done)
    details = sent(done["id"])["details"]
    assert details["items"] == [
        {
            "product": "prod_TPro0001",
            "product_name": "Pro course",
            "price": "price_pro",
            "price_nickname": "Launch price",
            "quantity": 2,
            "amount": 9800,
            "currency": "USD",
            "interval": None,
        }
    ]
    assert details["product_names"] == ["Pro course"]
    paths = [r["path"].split("?")[0] for r in stripe_api.requests]
    assert paths.count("/v1/checkout/sessions/cs_T1/line_items") == 1
    assert not [p for p in paths if "/products/" in p]  # expanded with the line items


def test_an_abandoned_checkout_gives_its_recovery_link(account, deliver, stripe_api):
    _line_items(stripe_api)
    expired = load("checkout_session_completed")
    expired.update(id="evt_cs_expired", type="checkout.session.expired")
    obj = expired["data"]["object"]
    obj.update(id="cs_T1", status="expired", payment_status="unpaid", customer=None)
    obj["after_expiration"] = {
        "recovery": {"enabled": True, "url": "https://buy.stripe.com/r/live_abc"}
    }
    deliver(expired)
    payload = sent("evt_cs_expired")
    assert payload["type"] == "$CheckoutSessionExpired"
    assert payload["email"] == "jane@example.com"  # customer_details.email
    details = payload["details"]
    assert details["recovery_url"] == "https://buy.stripe.com/r/live_abc"
    assert (details["amount_total"], details["currency"]) == (4900, "USD")
    assert details["product_names"] == ["Pro course"]


# --- MRR movements ---------------------------------------------------------------------------


def test_the_movement_table(account, deliver, no_lookup):
    pro = price("price_pro", "prod_TPro0001", 4900)
    deliver(load("customer_created"))
    steps = [
        ("active", 1, "new", 0, 49),
        ("active", 2, "expansion", 49, 98),
        ("active", 1, "contraction", 98, 49),
        ("canceled", 1, "churn", 49, 0),
        ("active", 3, "reactivation", 0, 147),
    ]
    for n, (status, quantity, *_) in enumerate(steps, start=1):
        deliver(subscription(n, status, (pro, quantity), created=1_795_849_200 + n))
    assert movements() == [(f"evt_sub_{n}", *step[2:]) for n, step in enumerate(steps, start=1)]
    moved = sent("evt_sub_1", "$MrrChanged")
    assert moved["details"]["unique"] == {"key": "evt_sub_1:mrr"}
    assert moved["details"]["subscription"] == "sub_TJane0001"
    assert moved["details"]["currency"] == "USD"
    assert moved["fields"]["mrr"] == 49
    # A duplicate delivery and a late, older event change nothing: no extra $MrrChanged.
    deliver(subscription(2, "active", (pro, 2), created=1_795_849_202))
    deliver(subscription(9, "active", (pro, 7), created=1_795_849_100))
    assert len(movements()) == len(steps)
    assert fields()["mrr"] == 147


def test_no_movement_from_a_backfill_or_reconciliation_unit(account, no_lookup):
    from bento_stripe.processing.unit import UnitOfWork

    customer = load("customer_created")["data"]["object"]
    sub = subscription(1, "active", (price("p", "prod_x", 4900), 1), created=1)["data"]["object"]
    with UnitOfWork(account, fields_only="t:1") as uow:
        uow.apply_snapshots(
            [("customer", customer, (10, "api")), ("subscription", sub, (10, "api"))]
        )
    assert fields()["mrr"] == 49
    assert not OutboxEvent.objects.filter(kind="event").exists()
    # The person did pay: a later drop to 0 and back reads as a reactivation.
    assert Subscriber.objects.get(email="jane@example.com").had_mrr


def test_a_batch_of_known_products_costs_no_query_an_event(
    account, no_lookup, settings, django_assert_max_num_queries
):
    """100 subscription events naming known products: ≤ 0.5 queries an event in all."""
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "PROCESS_BATCH_SIZE": 100}
    for n, product in enumerate((PRO, KIT)):
        assert record_once(event("product.created", product, n))
    tasks.process_waiting(linger=0)
    pro, kit = price("price_pro", "prod_TPro0001", 4900), price("price_kit", "prod_TKit0001", 500)
    for n in range(50):
        customer = load("customer_created")
        customer.update(id=f"evt_cus_{n}")
        customer["data"]["object"].update(id=f"cus_{n}", email=f"p{n}@example.com")
        sub = subscription(n, "active", (pro, 1), (kit, 1 + n % 3), created=1_795_849_200 + n)
        sub["data"]["object"].update(id=f"sub_{n}", customer=f"cus_{n}")
        assert record_once(customer) and record_once(sub)
    with django_assert_max_num_queries(50):
        assert tasks.process_waiting(linger=0) == 100
    assert set(StripeEventRecord.objects.values_list("status", flat=True)) == {"processed"}
    assert (
        Subscriber.objects.get(email="p7@example.com").fields["plan"] == "Pro course, Starter kit"
    )
    assert OutboxEvent.objects.filter(event_type="$MrrChanged").count() == 50


def test_a_lookup_setting_that_is_not_a_boolean_is_an_error(settings):
    from django.core.checks import run_checks

    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "LOOKUP_PRODUCTS": "yes"}
    assert "bento_stripe.E035" in [m.id for m in run_checks()]
    settings.BENTO_STRIPE = {**settings.BENTO_STRIPE, "LOOKUP_PRODUCTS": False}
    assert "bento_stripe.E035" not in [m.id for m in run_checks()]


def test_the_catalogue_is_shown_read_only_in_the_admin(admin_client, account, deliver, no_lookup):
    from django.urls import reverse

    deliver(
        event("product.created", PRO, 1),
        event("price.created", price("price_pro", "prod_TPro0001", 4900), 2),
    )
    for model in ("catalogueproduct", "catalogueprice"):
        page = admin_client.get(reverse(f"admin:bento_stripe_{model}_changelist"))
        assert page.status_code == 200
        assert "prod_TPro0001" in page.content.decode()
        assert admin_client.get(reverse(f"admin:bento_stripe_{model}_add")).status_code == 403


def test_change_email_is_delivered_before_the_events_of_its_unit(account, deliver, no_lookup):
    """Delivery sends a site's rows by (created_at, id): the command must come first, or
    Bento would move the old person's stale fields over the new ones."""
    moved = load("customer_updated_email")
    deliver(load("customer_created"), moved)
    rows = OutboxEvent.objects.filter(stripe_event_id=moved["id"]).order_by("created_at", "pk")
    assert [r.kind for r in rows][0] == "command"
    assert len({r.created_at for r in rows}) == 1


def test_an_email_change_of_a_paying_person_is_no_mrr_move(account, deliver, no_lookup):
    pro = price("price_pro", "prod_TPro0001", 4900)
    deliver(load("customer_created"), subscription(1, "active", (pro, 1), created=1_795_849_200))
    assert [m[1] for m in movements()] == ["new"]
    moved = load("customer_updated_email")
    deliver(moved)
    new_email = OutboxEvent.objects.get(stripe_event_id=moved["id"], kind="command").email
    assert Subscriber.objects.get(email=new_email).fields["mrr"] == 49
    assert [m[1] for m in movements()] == ["new"]  # the person moved; their MRR did not

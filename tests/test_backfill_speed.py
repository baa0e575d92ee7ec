"""What the backfill's page path does in bulk: the writes that replaced per-row updates,
and the held rows it still releases when it skips looking for them."""

from __future__ import annotations

import pytest

from bento_stripe.backfill import engine
from bento_stripe.backfill import services as backfill
from bento_stripe.models import LedgerCharge, LedgerCustomer, OutboxEvent, Subscriber

from .backfill_helpers import step_to
from .stripe_history import History
from .test_backfill import ACCOUNT, connect

pytestmark = pytest.mark.django_db

S = OutboxEvent.Status


def history() -> History:
    return History(ACCOUNT, customers=30, charges=150)


def off(settings, *, unit: int = 500) -> None:
    settings.BENTO_STRIPE = {
        **settings.BENTO_STRIPE,
        "BACKFILL_ON_CONNECT": False,
        "BACKFILL_UNIT_OBJECTS": unit,
    }


def held_row(account, site, customer_id: str, n: int) -> OutboxEvent:
    return OutboxEvent.objects.create(
        site=site,
        connection=account,
        kind=OutboxEvent.Kind.EVENT,
        event_type="$ChargeSucceeded",
        email="",
        payload={"type": "$ChargeSucceeded", "details": {}},
        dedupe_key=f"evt_held{n}:$ChargeSucceeded",
        stripe_event_id=f"evt_held{n}",
        stripe_account_id=ACCOUNT,
        stripe_person_key=customer_id,
        status=S.HELD,
    )


def test_a_backfill_releases_rows_held_for_its_customers(pipeline, site, stripe_lists, settings):
    stripe_lists(history())
    off(settings)
    account = connect(site)
    waiting = held_row(account, site, "cus_0000003", 1)
    stranger = held_row(account, site, "cus_9999999", 2)  # Stripe never lists them
    backfill.start(account, enqueue=False)
    assert engine.step(step_to(account, "customers")).objects == 30
    waiting.refresh_from_db()
    email = LedgerCustomer.objects.get(customer_id="cus_0000003").email
    assert email and (waiting.status, waiting.email) == (S.PENDING, email)
    assert waiting.payload["email"] == email
    stranger.refresh_from_db()
    assert (stranger.status, stranger.email) == (S.HELD, "")


def test_pages_without_held_rows_do_not_look_them_up(
    pipeline, site, stripe_lists, settings, django_assert_max_num_queries
):
    """With nothing held, a page asks once whether anything is (on the partial index of
    held rows) instead of looking up every id it knows; with a row held, it looks them up
    and releases it."""
    stripe_lists(history())
    off(settings, unit=100)  # one page per unit
    account = connect(site)
    backfill.start(account, enqueue=False)
    engine.step(step_to(account, "customers"))
    cursor = engine.first_open(account)
    with django_assert_max_num_queries(22) as quiet:
        engine.step(cursor)
    assert [q for q in held_reads(quiet) if "LIMIT 1" not in q] == []
    assert len(held_reads(quiet)) == 1
    held = held_row(account, site, "cus_0000004", 3)
    cursor = engine.first_open(account)
    with django_assert_max_num_queries(24) as busy:
        engine.step(cursor)
    assert any("stripe_person_key" in q and " IN " in q for q in held_reads(busy))
    held.refresh_from_db()
    assert held.status == S.PENDING and held.email


def held_reads(captured) -> list[str]:
    """The statements of a page that read held outbox rows."""
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and "outboxevent" in q["sql"] and "'held'" in q["sql"]
    ]


def test_the_upserts_change_stored_rows_in_place(pipeline, site, stripe_lists, settings):
    """Running the backfill again rewrites the rows it read (same primary keys, no
    duplicates) and a person whose fields changed at Stripe gets them in place."""
    lists = stripe_lists(history())
    off(settings)
    account = connect(site)
    backfill.start(account, enqueue=False)
    assert backfill.run(account) == "done"
    charges = dict(LedgerCharge.objects.values_list("charge_id", "pk"))
    people = dict(Subscriber.objects.filter(site=site).values_list("email", "pk"))
    first = lists.get(lists.ids("charges")[0])
    email = LedgerCharge.objects.get(charge_id=first["id"]).email
    before = Subscriber.objects.get(site=site, email=email).fields["lifetime_value"]
    refunded = {**first, "amount_refunded": first["amount_captured"], "refunded": True}
    lists.changed[first["id"]] = refunded
    backfill.start(account, enqueue=False)
    assert backfill.run(account) == "done"
    assert dict(LedgerCharge.objects.values_list("charge_id", "pk")) == charges
    assert dict(Subscriber.objects.filter(site=site).values_list("email", "pk")) == people
    row = LedgerCharge.objects.get(charge_id=first["id"])
    assert row.refunded == row.captured == first["amount_captured"] > 0
    assert Subscriber.objects.get(pk=people[row.email]).fields["lifetime_value"] < before


def test_a_charges_page_leaves_known_peoples_other_rows_unread(
    pipeline, site, stripe_lists, settings, django_assert_max_num_queries
):
    """Customers with a known email keep it through a charges page: their other charges
    and subscriptions are not read (they would only be rewritten by an email move)."""
    stripe_lists(history())
    off(settings, unit=100)  # one page per unit
    account = connect(site)
    backfill.start(account, enqueue=False)
    engine.step(step_to(account, "customers"))  # all with an email
    assert not LedgerCustomer.objects.filter(email="").exists()
    cursor = engine.first_open(account)
    with django_assert_max_num_queries(22) as page:
        assert engine.step(cursor).objects == 100
    by_customer = [
        q["sql"]
        for q in page.captured_queries
        if q["sql"].startswith("SELECT")
        and ("ledgercharge" in q["sql"] or "ledgersubscription" in q["sql"])
        and '."customer_id" IN' in q["sql"]
    ]
    assert by_customer == []


def test_the_upsert_writes_what_bulk_create_would():
    """``ledger.upsert`` (on PostgreSQL one JSON parameter unpacked by the server): new rows
    and stored ones, nulls, times, JSON and a too-long value, as the ORM writes them."""
    from datetime import UTC, datetime

    from django.db import DataError, connection, transaction

    from bento_stripe.ledger.upsert import upsert
    from bento_stripe.models import CatalogueProduct, LedgerCustomer

    scope = {"stripe_account_id": ACCOUNT, "livemode": False}
    missing = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    stored = CatalogueProduct.objects.create(**scope, product_id="prod_1", name="Old")
    stored.name, stored.missing_at, stored.version_created = 'Gold "plan" \\ ü', missing, 7
    new = CatalogueProduct(**scope, product_id="prod_2", name="New", active=False)
    upsert(
        CatalogueProduct,
        [stored, new],
        unique=["stripe_account_id", "livemode", "product_id"],
        update=["name", "missing_at", "version_created", "active"],
    )
    rows = {p.product_id: p for p in CatalogueProduct.objects.all()}
    assert len(rows) == 2 and rows["prod_1"].pk == stored.pk
    assert (rows["prod_1"].name, rows["prod_1"].missing_at) == ('Gold "plan" \\ ü', missing)
    assert rows["prod_1"].version_created == 7 and rows["prod_1"].active is True
    assert (rows["prod_2"].name, rows["prod_2"].missing_at, rows["prod_2"].active) == (
        "New",
        None,
        False,
    )
    data = {"discounts": [{"coupon": None, "percent_off": 12.5}], "note": "a'b"}
    customer = LedgerCustomer(**scope, customer_id="cus_1", email="a@example.com", data=data)
    upsert(LedgerCustomer, [customer], unique=[*scope, "customer_id"], update=["data"])
    assert LedgerCustomer.objects.get(customer_id="cus_1").data == data
    if connection.vendor != "postgresql":
        return  # SQLite keeps a value longer than its column's max_length
    too_long = CatalogueProduct(**scope, product_id="prod_3", name="x" * 256)
    with pytest.raises(DataError), transaction.atomic():
        upsert(CatalogueProduct, [too_long], unique=[*scope, "product_id"], update=["name"])


def test_a_catalogue_page_reads_its_products_and_prices_at_once(
    pipeline, site, stripe_lists, settings, django_assert_max_num_queries
):
    """A page of prices reads the stored prices and products it names in a query per table
    (it read each price on its own: a query per price)."""
    from bento_stripe.models import CataloguePrice

    story = History(ACCOUNT, customers=60, charges=150)
    stripe_lists(story)
    off(settings)
    account = connect(site)
    backfill.start(account, enqueue=False)
    cursor = step_to(account, "prices")
    assert len(story.prices()) >= 30
    with django_assert_max_num_queries(13):
        assert engine.step(cursor).objects == len(story.prices())
    assert CataloguePrice.objects.count() == len(story.prices())

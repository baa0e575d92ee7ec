"""A product Stripe does not find (404) costs one lookup a day, not one a batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bento_stripe.models import CatalogueProduct

from .stripe_events import ACCOUNT_ID, load
from .test_products import price, sent, subscription

pytestmark = pytest.mark.django_db


def product_lookups(stripe_api) -> list[str]:
    return [r["path"] for r in stripe_api.requests if "/products/" in r["path"]]


def test_a_product_stripe_does_not_find_is_asked_for_once_a_day(account, deliver, stripe_api):
    stripe_api.add(ACCOUNT_ID, load("customer_created")["data"]["object"])
    gone = price("price_gone", "prod_TGone001", 4900)
    deliver(load("customer_created"), subscription(1, "active", (gone, 1), created=1_795_849_201))
    deliver(subscription(2, "active", (gone, 2), created=1_795_849_202))
    assert product_lookups(stripe_api) == ["/v1/products/prod_TGone001"]
    row = CatalogueProduct.objects.get(product_id="prod_TGone001")
    assert row.name == "" and row.missing_at is not None
    assert sent("evt_sub_2")["details"]["product_names"] == ["prod_TGone001"]  # its id
    # A day later it is asked for again; found now, it is named and no longer missing.
    CatalogueProduct.objects.update(missing_at=timezone.now() - timedelta(days=1, seconds=1))
    stripe_api.add(ACCOUNT_ID, {"id": "prod_TGone001", "object": "product", "name": "Back"})
    deliver(subscription(3, "active", (gone, 3), created=1_795_849_203))
    assert product_lookups(stripe_api) == ["/v1/products/prod_TGone001"] * 2
    row.refresh_from_db()
    assert (row.name, row.missing_at) == ("Back", None)
    assert sent("evt_sub_3")["details"]["product_names"] == ["Back"]


def test_a_failed_lookup_is_no_miss(account, deliver, stripe_api):
    """Only Stripe's 404 is remembered: an outage is asked again on the next batch."""
    stripe_api.add(ACCOUNT_ID, load("customer_created")["data"]["object"])
    gone = price("price_gone", "prod_TGone001", 4900)
    deliver(load("customer_created"))
    stripe_api.refusing = True
    deliver(subscription(1, "active", (gone, 1), created=1_795_849_201))
    assert not CatalogueProduct.objects.filter(missing_at__isnull=False).exists()
    stripe_api.refusing = False
    stripe_api.add(ACCOUNT_ID, {"id": "prod_TGone001", "object": "product", "name": "Back"})
    deliver(subscription(2, "active", (gone, 2), created=1_795_849_202))
    assert product_lookups(stripe_api)[-1] == "/v1/products/prod_TGone001"
    assert sent("evt_sub_2")["details"]["product_names"] == ["Back"]

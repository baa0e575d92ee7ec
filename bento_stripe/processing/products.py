"""Stripe lookups that name products: unknown products and prices, checkout line items.

They run in the processing task before its unit of work (never in the webhook request),
within the batch's lookup budget; what they find is applied to the catalogue as snapshots,
so the next event naming the same product costs no call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import stripe
from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings
from ..exceptions import ReconnectNeeded
from ..ledger.catalogue import Catalogue
from ..ledger.invoices import named_by
from ..ledger.items import (
    checkout_items,
    invoice_lines,
    named,
    referenced,
    subscription_items,
)
from ..ledger.parse import UnreadableObject, object_id
from ..ledger.session import LedgerSession
from ..ledger.versions import read_version
from ..logs import get_logger
from ..models import CataloguePrice, CatalogueProduct, StripeAccount
from ..stripe_app.access_tokens import can_call
from . import lookup
from .lookup import Snapshot

logger = get_logger("bento_stripe.processing")

#: Snapshot kinds the catalogue applies ("missing_product": a lookup answered 404).
KINDS = frozenset({"product", "price", "line_items", "missing_product"})
#: How long a product Stripe did not find is not asked for again.
MISS_RETRY = timedelta(days=1)
#: Objects whose events carry ``details.items``.
ITEMS_OF = frozenset({"invoice", "subscription", "checkout.session"})


def raw_items(obj: dict) -> list[dict]:
    """The raw items of an invoice or subscription object ([] for anything else)."""
    kind = obj.get("object")
    if kind == "invoice":
        return invoice_lines(obj)
    if kind == "subscription":
        return subscription_items(obj)
    if kind == "checkout.session":
        return checkout_items(_listed(obj.get("line_items")), str(obj.get("currency") or ""))
    return []


def _listed(value: object) -> list:
    if isinstance(value, dict):
        value = value.get("data")
    return value if isinstance(value, list) else []


def catalogue_ids(objects: Iterable[dict]) -> tuple[set[str], set[str]]:
    """Product and price ids a batch's objects name (for the catalogue's preload)."""
    products: set[str] = set()
    prices: set[str] = set()
    for obj in objects:
        kind = obj.get("object")
        try:
            if kind == "product":
                products.add(object_id(obj))
            elif kind in ("price", "plan"):
                prices.add(object_id(obj))
                products.add(object_id(obj.get("product")))
            elif kind == "line_items":
                found = referenced(checkout_items(_listed(obj.get("data"))))
                products |= found[0]
                prices |= found[1]
            else:
                found = referenced(raw_items(obj))
                products |= found[0]
                prices |= found[1]
        except UnreadableObject:
            continue  # the event is ignored with its reason when it is applied
    products.discard("")
    prices.discard("")
    return products, prices


def apply_snapshot(catalogue: Catalogue, kind: str, obj: dict, version: tuple[int, str]) -> None:
    """Apply a looked-up (or listed) product, price, or checkout session's line items."""
    if kind == "product":
        catalogue.apply_product(obj, version)
    elif kind == "missing_product":
        catalogue.mark_missing(str(obj["id"]))
    elif kind == "price":
        catalogue.apply_price(obj, version)
    else:
        entries = _listed(obj.get("data"))
        for entry in entries:
            price = entry.get("price") if isinstance(entry, dict) else None
            if isinstance(price, dict) and price.get("id"):
                catalogue.apply_price(price, version)
        catalogue.line_items[str(obj["id"])] = entries


def remember_invoice(ledger: LedgerSession, obj: dict, version: tuple[int, str]) -> None:
    """A listed invoice's items, named from the catalogue, kept for its charges' events
    (an invoice whose lines are unreadable keeps none; its email is still learnt)."""
    try:
        raw = invoice_lines(obj)
    except UnreadableObject:
        return
    ledger.invoices.remember(obj, named(raw, ledger.catalogue, version), version)


def preload_invoices(ledger: LedgerSession, objects: list[dict]) -> None:
    """Read a page of invoices' kept versions and the catalogue rows their lines name
    (a few queries a page, none an invoice)."""
    ledger.invoices.preload(named_by(objects))
    ledger.catalogue.preload(*catalogue_ids(objects))


def enabled(account: StripeAccount) -> bool:
    """Whether product lookups are on and possible for ``account``."""
    return bool(
        app_settings.LOOKUP_PRODUCTS and app_settings.STRIPE_SECRET_KEY and can_call(account)
    )


#: What ``_get`` answers when Stripe has no such object (404).
MISSING: dict = {}


def _get(account: StripeAccount, path: str, **params: Any) -> dict | None:
    """The object at ``path``; ``MISSING`` when Stripe has none; None when the call failed."""
    try:
        client = lookup.stripe_client(account)
        response = client.raw_request("get", path, **params)
    except ReconnectNeeded as exc:
        logger.info("Stripe lookup of %s waits: %s", path, exc)
        return None
    except stripe.StripeError as exc:
        logger.warning("Stripe lookup of %s failed: %s", path, exc.user_message)
        return MISSING if exc.http_status == 404 else None
    body = response.data
    return body if isinstance(body, dict) else None


def prefetch(objects: Iterable[dict], account: StripeAccount, *, deadline: float) -> list[Snapshot]:
    """Look up what a batch names but the catalogue does not know: checkout sessions' line
    items (with their prices' products), prices named by id only (with their product), and
    products named by id only. Two queries for the whole batch, one call per unknown object,
    only until ``deadline`` (``time.monotonic()``); what is left is named by its id. A
    product Stripe does not have (404) is remembered as missing (``missing_product``) and
    asked for again only after ``MISS_RETRY``."""
    objects = list(objects)
    if not enabled(account):
        return []
    found: list[Snapshot] = []
    version = read_version()
    sessions = [
        o["id"]
        for o in objects
        if o.get("object") == "checkout.session"
        and isinstance(o.get("id"), str)
        and not _listed(o.get("line_items"))
    ]
    for session_id in dict.fromkeys(sessions):
        if time.monotonic() > deadline:
            logger.info("Stripe lookups of %s stopped at the time budget", account.stripe_user_id)
            return found
        body = _get(
            account,
            f"/v1/checkout/sessions/{session_id}/line_items",
            limit=100,
            expand=["data.price.product"],
        )
        if body and isinstance(body.get("data"), list):
            found.append(
                (
                    "line_items",
                    {"object": "line_items", "id": session_id, "data": body["data"]},
                    version,
                )
            )
    products, prices = catalogue_ids([*objects, *(s[1] for s in found)])
    given = {
        o["id"] for o in objects if o.get("object") == "product" and isinstance(o.get("id"), str)
    }
    given |= _expanded_products(objects, found)
    given_prices = {
        o["id"]
        for o in objects
        if o.get("object") in ("price", "plan") and isinstance(o.get("id"), str)
    } | _embedded_prices(objects, found)
    key = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    unknown_prices = sorted(prices - given_prices)
    if unknown_prices:
        unknown_prices = sorted(
            set(unknown_prices)
            - set(
                CataloguePrice.objects.filter(**key, price_id__in=unknown_prices).values_list(
                    "price_id", flat=True
                )
            )
        )
    unknown_products = sorted(products - given)
    if unknown_products:
        unknown_products = sorted(
            set(unknown_products)
            - set(
                CatalogueProduct.objects.filter(**key, product_id__in=unknown_products)
                .filter(~Q(name="") | Q(missing_at__gte=timezone.now() - MISS_RETRY))
                .values_list("product_id", flat=True)
            )
        )
    for price_id in unknown_prices:
        if time.monotonic() > deadline:
            logger.info("Stripe lookups of %s stopped at the time budget", account.stripe_user_id)
            return found
        price = _get(account, f"/v1/prices/{price_id}", expand=["product"])
        if price:
            found.append(("price", price, version))
            product = price.get("product")
            if isinstance(product, dict):
                unknown_products = [p for p in unknown_products if p != product.get("id")]
    for product_id in unknown_products:
        if time.monotonic() > deadline:
            logger.info("Stripe lookups of %s stopped at the time budget", account.stripe_user_id)
            return found
        product = _get(account, f"/v1/products/{product_id}")
        if product is MISSING:  # one lookup a day, not one a batch
            found.append(("missing_product", {"id": product_id}, version))
        elif product:
            found.append(("product", product, version))
    return found


def _prices_in(objects: Iterable[dict], found: list[Snapshot]) -> list[dict]:
    prices: list[dict] = []
    for obj in [*objects, *(s[1] for s in found)]:
        entries: list = []
        if obj.get("object") == "subscription":
            entries = _listed(obj.get("items")) or [obj]
        elif obj.get("object") == "invoice":
            entries = _listed(obj.get("lines"))
        elif obj.get("object") in ("price", "plan"):
            entries = [{"price": obj}]
        elif "data" in obj:  # looked-up line items
            entries = _listed(obj.get("data"))
        for entry in entries:
            if isinstance(entry, dict):
                for key in ("price", "plan"):
                    if isinstance(entry.get(key), dict):
                        prices.append(entry[key])
    return prices


def _embedded_prices(objects: Iterable[dict], found: list[Snapshot]) -> set[str]:
    """Prices whose objects a payload carries (nothing to look up)."""
    return {str(p.get("id")) for p in _prices_in(objects, found) if p.get("id")}


def _expanded_products(objects: Iterable[dict], found: list[Snapshot]) -> set[str]:
    """Products whose objects a payload carries expanded (nothing to look up)."""
    return {
        str(p["product"].get("id"))
        for p in _prices_in(objects, found)
        if isinstance(p.get("product"), dict) and p["product"].get("name")
    }

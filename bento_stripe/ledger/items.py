"""``details.items`` of invoice, subscription and checkout events, named from the catalogue.

Each item is ``{"product", "product_name", "price", "price_nickname", "quantity", "amount",
"currency", "interval"}`` in Stripe's order: an invoice's lines (current
``pricing.price_details`` and 2020-08-27 ``price`` / ``plan`` shapes), a subscription's
items, a checkout session's line items (looked up at Stripe: its webhook has none).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from .catalogue import Catalogue, price_amount, price_interval
from .parse import UnreadableObject, listing, minor_units, object_id, text, whole_number

#: Intervals a Bento flow can branch on; anything else reads as null.
INTERVALS = frozenset({"day", "week", "month", "year"})


def _price_of(line: dict) -> dict:
    """The price object (or legacy plan) of a line or item ({} when it names only an id)."""
    for key in ("price", "plan"):
        value = line.get(key)
        if isinstance(value, dict):
            return value
    return {}


def _raw(product: str, price: str, quantity: int, amount: int, currency: str) -> dict:
    return {
        "product": product,
        "price": price,
        "quantity": quantity,
        "amount": amount,
        "currency": currency.upper(),
    }


def invoice_lines(obj: dict) -> list[dict]:
    """The invoice's lines as raw items (names not filled in yet)."""
    currency = text(obj, "currency")
    found = []
    for line in listing(obj.get("lines"), "invoice.lines"):
        if not isinstance(line, dict):
            raise UnreadableObject("an invoice line is not an object")
        pricing = line.get("pricing")
        details = pricing.get("price_details") if isinstance(pricing, dict) else None
        price = _price_of(line)
        if isinstance(details, dict):  # current API versions: ids only
            product_id = object_id(details.get("product"))
            price_id = object_id(details.get("price"))
        else:
            product_id = object_id(price.get("product"))
            price_id = object_id(line.get("price")) or object_id(line.get("plan"))
        item = _raw(
            product_id,
            price_id,
            whole_number(line, "quantity") or 1,
            minor_units(line, "amount") or 0,
            text(line, "currency") or currency,
        )
        item["_price"] = price
        found.append(item)
    return found


def subscription_items(obj: dict) -> list[dict]:
    """The subscription's items (or its legacy single plan) as raw items."""
    entries = listing(obj.get("items"), "subscription.items")
    if not entries and isinstance(obj.get("plan"), dict):
        entries = [{"plan": obj["plan"], "quantity": obj.get("quantity")}]
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise UnreadableObject("a subscription item is not an object")
        price = _price_of(entry)
        quantity = whole_number(entry, "quantity")
        quantity = 1 if quantity is None else quantity
        unit = price_amount(price)
        amount = (
            int((Decimal(unit) * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            if unit
            else 0
        )
        item = _raw(
            object_id(price.get("product")),
            text(price, "id"),
            quantity,
            amount,
            text(price, "currency") or text(obj, "currency"),
        )
        item["_price"] = price
        found.append(item)
    return found


def checkout_items(line_items: list[dict], currency: str = "") -> list[dict]:
    """A checkout session's line items (``item`` objects) as raw items."""
    found = []
    for entry in line_items:
        if not isinstance(entry, dict):
            raise UnreadableObject("a checkout line item is not an object")
        price = _price_of(entry)
        amount = minor_units(entry, "amount_total")
        if amount is None:
            amount = minor_units(entry, "amount_subtotal") or 0
        item = _raw(
            object_id(price.get("product")),
            text(price, "id"),
            whole_number(entry, "quantity") or 1,
            amount,
            text(entry, "currency") or currency,
        )
        item["_price"] = price
        item["_description"] = text(entry, "description")
        found.append(item)
    return found


def referenced(raw: list[dict]) -> tuple[set[str], set[str]]:
    """The product and price ids raw items name."""
    return {i["product"] for i in raw if i["product"]}, {i["price"] for i in raw if i["price"]}


def named(
    raw: list[dict], catalogue: Catalogue, version: tuple[int, str] | None = None
) -> list[dict]:
    """Raw items with names from the catalogue; expanded products and prices the payload
    carries are applied to the catalogue first when ``version`` is given."""
    items = []
    for entry in raw:
        price = entry.get("_price") or {}
        if version is not None and price.get("id"):
            catalogue.apply_price(price, version)
        known = catalogue.price(entry["price"])
        product_id = entry["product"] or (known.product_id if known else "")
        name = catalogue.product_name(product_id)
        product = price.get("product")
        if not name and isinstance(product, dict):
            name = text(product, "name")
        name = name or text(price, "name") or entry.get("_description") or ""
        nickname = text(price, "nickname") if price else (known.nickname if known else "")
        interval, _ = price_interval(price) if price else ((known.interval if known else ""), 1)
        items.append(
            {
                "product": product_id or None,
                "product_name": name or product_id or None,
                "price": entry["price"] or None,
                "price_nickname": nickname or None,
                "quantity": entry["quantity"],
                "amount": entry["amount"],
                "currency": entry["currency"] or None,
                "interval": interval if interval in INTERVALS else None,
            }
        )
    return items


def product_names(items: list[dict]) -> list[str]:
    """The distinct product names of ``items``, in their order."""
    names: list[str] = []
    for item in items:
        name = item.get("product_name")
        if name and name not in names:
            names.append(name)
    return names

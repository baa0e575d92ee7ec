"""Reading Stripe objects (current and legacy API shapes) into JSON-safe ledger data."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..exceptions import UnreadableObject
from .shapes import Discount, Item, Subscription


def _describe(obj: dict) -> str:
    return str(obj.get("object") or "object")


def require_id(obj: dict) -> str:
    """The object's own id, or :class:`UnreadableObject` when it has none."""
    value = obj.get("id")
    if not isinstance(value, str) or not value:
        raise UnreadableObject(f"the {_describe(obj)} has no id")
    return value


def minor_units(obj: dict, key: str) -> int | None:
    """An amount in minor units: a JSON integer, or None when absent or null.

    Stripe sends amounts as integers; a decimal string (``"10.00"``) or a float is not
    one, and guessing its unit would put wrong money in the ledger.
    """
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnreadableObject(f"{_describe(obj)}.{key} is not an integer amount: {value!r}")
    return value


def whole_number(obj: dict, key: str) -> int | None:
    """A count or UNIX time (quantity, interval_count, created): an integer, or None."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnreadableObject(f"{_describe(obj)}.{key} is not an integer: {value!r}")
    return value


def text(obj: dict, key: str) -> str:
    """A string field ("" when absent or null); anything else is unreadable."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise UnreadableObject(f"{_describe(obj)}.{key} is not a string: {value!r}")
    return value


def _mapping(value: object, where: str) -> dict:
    """A nested object ({} when absent or null)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UnreadableObject(f"{where} is not an object")
    return value


def listing(value: object, where: str) -> list:
    """A list, or a Stripe list object's ``data`` ([] when absent or null)."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("data")
        if value is None:
            return []
    if not isinstance(value, list):
        raise UnreadableObject(f"{where} is not a list")
    return value


def object_id(value: object) -> str:
    """The id of an expandable Stripe field: a string id, an expanded object, or None."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _coupon(discount: object) -> dict | None:
    if not isinstance(discount, dict):
        return None  # an unexpanded discount id: its coupon is not in the object
    coupon = discount.get("coupon")
    if not isinstance(coupon, dict):
        source = _mapping(discount.get("source"), "discount.source")
        coupon = source.get("coupon")
    return coupon if isinstance(coupon, dict) else None


def _percent(coupon: dict) -> str | None:
    value = coupon.get("percent_off")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnreadableObject(f"coupon.percent_off is not a number: {value!r}")
    try:
        # float → str is its shortest repr, so 25.5 stays exactly 25.5.
        percent = Decimal(str(value))
    except InvalidOperation:
        raise UnreadableObject(f"coupon.percent_off is not a number: {value!r}") from None
    if not percent.is_finite():
        raise UnreadableObject(f"coupon.percent_off is not a number: {value!r}")
    return str(percent)


def coupon_data(coupon: dict) -> dict:
    """What the ledger keeps of a coupon: its percentage or amount (and that amount's currency)."""
    return {
        "percent_off": _percent(coupon),
        "amount_off": minor_units(coupon, "amount_off"),
        "currency": text(coupon, "currency").lower(),
    }


def discounts_data(container: dict) -> list[dict]:
    """Coupons of a subscription or item: the legacy ``discount`` and expanded ``discounts``."""
    found: list[dict] = []
    seen: set[str] = set()
    candidates = list(listing(container.get("discounts"), "discounts"))
    if container.get("discount"):
        candidates.insert(0, container["discount"])
    for discount in candidates:
        coupon = _coupon(discount)
        if coupon is None or not isinstance(discount, dict):
            # Only an id (or a discount whose coupon is only an id): still the object's own
            # discount, resolved when read from the discounts seen in events.
            discount_id = discount if isinstance(discount, str) else object_id(discount)
            if discount_id and discount_id not in seen:
                seen.add(discount_id)
                found.append({"id": discount_id})
            continue
        key = str(discount.get("id") or coupon.get("id") or len(found))
        if key in seen:
            continue
        seen.add(key)
        found.append(coupon_data(coupon))
    return found


def discount_coupon(discount: dict) -> dict | None:
    """The coupon data of a Stripe discount object (None when only the coupon's id is given)."""
    coupon = _coupon(discount)
    return None if coupon is None else coupon_data(coupon)


def discount_data(value: object) -> dict | None:
    """A ``discount`` field read whole: its id and coupon data (None for no discount)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UnreadableObject("discount is not an object")
    return {"id": text(value, "id"), **(discount_coupon(value) or {})}


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _price_amount(price: dict) -> Decimal | None:
    """A price's (or legacy plan's) unit amount in minor units, exact; None when it has none."""
    for key in ("unit_amount_decimal", "amount_decimal"):
        value = price.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise UnreadableObject(f"price.{key} is not a decimal string: {value!r}")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise UnreadableObject(f"price.{key} is not a decimal string: {value!r}") from None
        if not amount.is_finite():
            raise UnreadableObject(f"price.{key} is not a decimal string: {value!r}")
        return amount
    for key in ("unit_amount", "amount"):
        whole = minor_units(price, key)
        if whole is not None:
            return Decimal(whole)
    return None


def item_data(item: dict) -> dict:
    """One subscription item's price, quantity and coupons (prices, or legacy plans)."""
    if not isinstance(item, dict):
        raise UnreadableObject("a subscription item is not an object")
    price = _mapping(item.get("price"), "item.price") or _mapping(item.get("plan"), "item.plan")
    recurring = _mapping(price.get("recurring"), "price.recurring")
    amount = _price_amount(price)
    product = price.get("product")
    label = (
        text(price, "nickname")
        or (text(product, "name") if isinstance(product, dict) else "")
        or text(price, "name")  # plans of older API versions had a name of their own
        or text(price, "id")
    )
    usage_type = text(recurring, "usage_type") or text(price, "usage_type") or "licensed"
    quantity = whole_number(item, "quantity")
    count = whole_number(recurring, "interval_count") or whole_number(price, "interval_count")
    transform = _mapping(price.get("transform_quantity"), "price.transform_quantity")
    divide_by = whole_number(transform, "divide_by")
    divide_by = 1 if divide_by is None else divide_by
    if divide_by < 1:
        raise UnreadableObject(f"transform_quantity.divide_by is not positive: {divide_by}")
    rounding = text(transform, "round") or "up"
    if rounding not in ("up", "down"):
        raise UnreadableObject(f"transform_quantity.round is neither up nor down: {rounding!r}")
    return {
        "price_id": text(price, "id"),
        "label": label,
        # The catalogue names the product at field time (``subscription_from_data``).
        "nickname": text(price, "nickname"),
        "product": object_id(product),
        "product_name": text(product, "name") if isinstance(product, dict) else "",
        "currency": text(price, "currency").lower(),
        "unit_amount": None if amount is None else str(amount),
        "quantity": quantity if quantity is not None else 1,
        "interval": text(recurring, "interval") or text(price, "interval") or "month",
        "interval_count": count or 1,
        "usage_based": usage_type == "metered" or price.get("billing_scheme") == "tiered",
        "discounts": discounts_data(item),
        "divide_by": divide_by,
        "round": rounding,
    }


def subscription_data(obj: dict) -> dict:
    """The parts of a Stripe subscription the ledger keeps."""
    items = [item_data(i) for i in listing(obj.get("items"), "subscription.items")]
    plan = _mapping(obj.get("plan"), "subscription.plan")
    if not items and plan:
        # Older API versions: one plan and quantity on the subscription itself, no items.
        items = [item_data({"plan": plan, "quantity": obj.get("quantity")})]
    return {
        "items": items,
        "discounts": discounts_data(obj),
        "collection_paused": bool(_mapping(obj.get("pause_collection"), "pause_collection")),
    }


def subscription_currency(obj: dict, data: dict) -> str:
    """The subscription's own currency, else its items' prices' (or plan's); lower case."""
    return text(obj, "currency").lower() or items_currency(data)


def items_currency(data: dict) -> str:
    """The currency of the first item price that names one ("" when none does)."""
    return next((i["currency"] for i in data.get("items") or [] if i.get("currency")), "")


def _discounts(data: list[dict], known: dict | None = None) -> tuple[Discount, ...]:
    """Stored coupons as :class:`Discount`; an id-only entry through ``known`` (id → coupon)."""
    found = []
    for d in data:
        if set(d) == {"id"}:
            resolved = (known or {}).get(d["id"])
            if resolved is None:
                continue  # never seen with its coupon: nothing known to take off
            d = resolved
        found.append(
            Discount(
                percent_off=_decimal(d.get("percent_off")),
                amount_off=d.get("amount_off"),
                currency=d.get("currency") or "",
            )
        )
    return tuple(found)


def subscription_from_data(
    sub_id: str,
    status: str,
    created: int,
    currency: str,
    data: dict,
    customer: dict | None = None,
    names: dict[str, str] | None = None,
) -> Subscription:
    """A :class:`Subscription` from what :func:`subscription_data` stored.

    ``customer`` is its customer's stored data: discount ids resolve through the discounts
    seen for that customer, and a subscription without a discount of its own takes the
    customer-wide one (``customer.discount``). ``names`` maps product ids to their names in
    the connection's catalogue: an item's label is its price's nickname, else its product's
    name, else what the object itself said (a legacy plan's name, else the price id).
    """
    names = names or {}
    customer = customer or {}
    known = customer.get("known_discounts") or {}
    own = data.get("discounts") or []
    if own:
        discounts = _discounts(own, known)
    else:
        wide = customer.get("discount")
        discounts = _discounts([wide] if wide else [])
    items = tuple(
        Item(
            price_id=i["price_id"],
            label=i.get("nickname") or names.get(i.get("product") or "") or i["label"],
            product_id=i.get("product") or "",
            product_name=names.get(i.get("product") or "") or i.get("product_name") or "",
            unit_amount=_decimal(i["unit_amount"]),
            quantity=i["quantity"],
            interval=i["interval"],
            interval_count=i["interval_count"],
            usage_based=i["usage_based"],
            discounts=_discounts(i.get("discounts") or [], known),
            divide_by=int(i.get("divide_by") or 1),
            round_up=i.get("round", "up") != "down",
        )
        for i in data.get("items") or []
    )
    return Subscription(
        id=sub_id,
        status=status,
        created=created,
        currency=currency or items_currency(data),
        items=items,
        discounts=discounts,
        collection_paused=bool(data.get("collection_paused")),
    )


def charge_captured(charge: dict) -> int:
    """Minor units captured on a charge snapshot (0 for a failed charge)."""
    if charge.get("status") == "failed":
        return 0
    captured = minor_units(charge, "amount_captured")
    if captured is None:  # very old API versions: no amount_captured
        captured = (minor_units(charge, "amount") or 0) if charge.get("captured") else 0
    return captured


def refunded_of_captured(charge: dict) -> int:
    """Minor units of captured money refunded, per a charge snapshot.

    Stripe reports the released, never-captured part of an authorisation (a partial
    capture's remainder, a cancelled authorisation) in ``amount_refunded`` too; that
    part was never received, so it is not money refunded.
    """
    captured = charge_captured(charge)
    amount = minor_units(charge, "amount") or 0
    released = max(0, amount - captured) if amount else 0
    refunded = (minor_units(charge, "amount_refunded") or 0) - released
    return max(0, min(refunded, captured))


def charge_email(charge: dict) -> str:
    """An email written on a charge: its billing details, else its receipt email."""
    billing = _mapping(charge.get("billing_details"), "charge.billing_details")
    return normalize_email(text(billing, "email") or text(charge, "receipt_email"))


def normalize_email(email: object) -> str:
    """Emails compared and stored lower-case and trimmed ("" for none)."""
    return str(email or "").strip().lower()

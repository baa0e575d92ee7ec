"""Reading Stripe objects (current and legacy API shapes) into JSON-safe ledger data."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .shapes import Discount, Item, Subscription


def object_id(value: object) -> str:
    """The id of an expandable Stripe field: a string id, an expanded object, or None."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _coupon(discount: object) -> dict | None:
    if not isinstance(discount, dict):
        return None  # an unexpanded discount id: its coupon is unknown to the webhook
    coupon = discount.get("coupon")
    if not isinstance(coupon, dict):
        source = discount.get("source") or {}
        coupon = source.get("coupon") if isinstance(source, dict) else None
    return coupon if isinstance(coupon, dict) else None


def discounts_data(container: dict) -> list[dict]:
    """Coupons of a subscription or item: the legacy ``discount`` and expanded ``discounts``."""
    found: list[dict] = []
    seen: set[str] = set()
    candidates = list(container.get("discounts") or [])
    if container.get("discount"):
        candidates.insert(0, container["discount"])
    for discount in candidates:
        coupon = _coupon(discount)
        if coupon is None:
            continue
        key = str(discount.get("id") or coupon.get("id") or len(found))
        if key in seen:
            continue
        seen.add(key)
        found.append(
            {
                "percent_off": None
                if coupon.get("percent_off") is None
                else str(coupon["percent_off"]),
                "amount_off": coupon.get("amount_off"),
                "currency": (coupon.get("currency") or "").lower(),
            }
        )
    return found


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def item_data(item: dict) -> dict:
    """One subscription item's price, quantity and coupons (prices, or legacy plans)."""
    price = item.get("price") or item.get("plan") or {}
    recurring = price.get("recurring") or {}
    amount = price.get("unit_amount_decimal")
    if amount is None:
        amount = price.get("unit_amount", price.get("amount_decimal", price.get("amount")))
    product = price.get("product")
    label = (
        price.get("nickname")
        or (product.get("name") if isinstance(product, dict) else None)
        or price.get("id")
        or ""
    )
    usage_type = recurring.get("usage_type") or price.get("usage_type") or "licensed"
    quantity = item.get("quantity")
    return {
        "price_id": price.get("id") or "",
        "label": label,
        "unit_amount": None if _decimal(amount) is None else str(_decimal(amount)),
        "quantity": int(quantity if quantity is not None else 1),
        "interval": recurring.get("interval") or price.get("interval") or "month",
        "interval_count": int(recurring.get("interval_count") or price.get("interval_count") or 1),
        "usage_based": usage_type == "metered" or price.get("billing_scheme") == "tiered",
        "discounts": discounts_data(item),
    }


def subscription_data(obj: dict) -> dict:
    """The parts of a Stripe subscription the ledger keeps."""
    items = (obj.get("items") or {}).get("data") or []
    return {
        "items": [item_data(i) for i in items],
        "discounts": discounts_data(obj),
    }


def _discounts(data: list[dict]) -> tuple[Discount, ...]:
    return tuple(
        Discount(
            percent_off=_decimal(d.get("percent_off")),
            amount_off=d.get("amount_off"),
            currency=d.get("currency") or "",
        )
        for d in data
    )


def subscription_from_data(
    sub_id: str, status: str, created: int, currency: str, data: dict
) -> Subscription:
    """A :class:`Subscription` from what :func:`subscription_data` stored."""
    items = tuple(
        Item(
            price_id=i["price_id"],
            label=i["label"],
            unit_amount=_decimal(i["unit_amount"]),
            quantity=i["quantity"],
            interval=i["interval"],
            interval_count=i["interval_count"],
            usage_based=i["usage_based"],
            discounts=_discounts(i.get("discounts") or []),
        )
        for i in data.get("items") or []
    )
    return Subscription(
        id=sub_id,
        status=status,
        created=created,
        currency=currency,
        items=items,
        discounts=_discounts(data.get("discounts") or []),
    )


def charge_captured(charge: dict) -> int:
    """Minor units captured on a charge snapshot (0 for a failed charge)."""
    if charge.get("status") == "failed":
        return 0
    captured = charge.get("amount_captured")
    if captured is None:  # very old API versions: no amount_captured
        captured = charge.get("amount", 0) if charge.get("captured") else 0
    return int(captured or 0)


def refunded_of_captured(charge: dict) -> int:
    """Minor units of captured money refunded, per a charge snapshot.

    Stripe reports the released, never-captured part of an authorisation (a partial
    capture's remainder, a cancelled authorisation) in ``amount_refunded`` too; that
    part was never received, so it is not money refunded.
    """
    captured = charge_captured(charge)
    amount = int(charge.get("amount") or 0)
    released = max(0, amount - captured) if amount else 0
    refunded = int(charge.get("amount_refunded") or 0) - released
    return max(0, min(refunded, captured))


def charge_email(charge: dict) -> str:
    """An email written on a charge: its billing details, else its receipt email."""
    billing = charge.get("billing_details") or {}
    return normalize_email(billing.get("email") or charge.get("receipt_email") or "")


def normalize_email(email: object) -> str:
    """Emails compared and stored lower-case and trimmed ("" for none)."""
    return str(email or "").strip().lower()

"""Stripe API lookups of people the events do not name an email for (never in the webhook request)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import stripe

from .. import stripe_clients
from ..conf import app_settings
from ..exceptions import ReconnectNeeded
from ..ledger.parse import charge_email, normalize_email, object_id
from ..ledger.versions import read_version
from ..logs import get_logger
from ..models import LedgerCharge, LedgerCustomer, StripeAccount
from ..stripe_app.access_tokens import can_call

logger = get_logger("bento_stripe.processing")

#: (kind, Stripe object, version) fetched before the unit of work's transaction.
Snapshot = tuple[str, dict, tuple[int, str]]


def enabled() -> bool:
    """Whether lookups are on and possible (``LOOKUP_EMAILS`` and a platform key)."""
    return bool(app_settings.LOOKUP_EMAILS and app_settings.STRIPE_SECRET_KEY)


def stripe_client(account: StripeAccount) -> stripe.StripeClient:
    """The account's client (:func:`bento_stripe.stripe_clients.for_account`), lookup timeout."""
    return stripe_clients.for_account(account, timeout=app_settings.LOOKUP_TIMEOUT)


def fetch(account: StripeAccount, kind: str, object_id_: str) -> dict | None:
    """A customer, charge or coupon of ``account`` from Stripe's API, or None (logged) on any
    error."""
    try:
        client = stripe_client(account)
    except ReconnectNeeded as exc:
        # An app install without a usable token: the people stay held until it is back.
        logger.info(
            "Stripe lookup of %s %s waits: %s",
            kind,
            object_id_,
            exc,
            account=account.stripe_user_id,
        )
        return None
    service: Any
    if kind == "customer":
        service = client.v1.customers
    elif kind == "coupon":
        service = client.v1.coupons
    else:
        service = client.v1.charges
    try:
        return service.retrieve(object_id_).to_dict()
    except stripe.StripeError as exc:
        # The message names the object, never the key.
        logger.warning(
            "Stripe lookup of %s %s failed: %s",
            kind,
            object_id_,
            exc.user_message,
            account=account.stripe_user_id,
        )
        return None


def _version() -> tuple[int, str]:
    return read_version()


def _email_hint(obj: dict) -> str:
    details = obj.get("customer_details") or {}
    return (
        obj.get("customer_email")
        or (details.get("email") if isinstance(details, dict) else "")
        or charge_email(obj)
        or (obj.get("email") if obj.get("object") == "customer" else "")
        or ""
    )


def person(account: StripeAccount, key: str) -> list[Snapshot]:
    """The customer (``cus_...``) or the charge and its customer that ``key`` names."""
    if key.startswith("cus_"):
        customer = fetch(account, "customer", key)
        return [("customer", customer, _version())] if customer else []
    charge = fetch(account, "charge", key)
    if charge is None:
        return []
    found: list[Snapshot] = [("charge", charge, _version())]
    customer_id = object_id(charge.get("customer"))
    if customer_id:
        customer = fetch(account, "customer", customer_id)
        if customer:
            found.append(("customer", customer, _version()))
    return found


def prefetch(objects: Iterable[dict], account: StripeAccount, *, budget: float) -> list[Snapshot]:
    """Fetch the customers (and charges) a batch's objects name whose email nobody knows yet,
    and the coupons its discounts name by id only.

    Two queries for the whole batch; Stripe is asked only within ``budget`` seconds (the
    people left over stay held, and the held-row lookup asks again later).
    """
    if not enabled() or not can_call(account):
        return []
    objects = list(objects)
    deadline = time.monotonic() + budget
    snapshots = coupons(objects, account, deadline)
    wants: list[tuple[str, str]] = []
    told: set[str] = set()  # customers whose email a customer object of the batch tells
    for obj in objects:
        if obj.get("object") == "customer":
            if normalize_email(obj.get("email")) and isinstance(obj.get("id"), str):
                told.add(obj["id"])
            continue
        if _email_hint(obj):
            continue
        customer_id = object_id(obj.get("customer"))
        charge_id = (
            object_id(obj.get("charge")) if obj.get("object") in ("dispute", "refund") else ""
        )
        if customer_id or charge_id:
            wants.append((customer_id, charge_id))
    if not wants:
        return snapshots
    key = {"stripe_account_id": account.stripe_user_id, "livemode": account.livemode}
    known = (
        set(
            LedgerCustomer.objects.filter(**key, customer_id__in={c for c, _ in wants if c})
            .exclude(email="")
            .values_list("customer_id", flat=True)
        )
        | told
    )
    charge_ids = {ch for c, ch in wants if ch and not c}
    charges = (
        {
            row[0]: row[1:]
            for row in LedgerCharge.objects.filter(**key, charge_id__in=charge_ids).values_list(
                "charge_id", "email", "customer_id"
            )
        }
        if charge_ids
        else {}
    )
    asked: set[str] = set()
    for customer_id, charge_id in wants:
        if time.monotonic() > deadline:
            logger.info(
                "Stripe lookups of %s stopped at the time budget",
                account.stripe_user_id,
                account=account.stripe_user_id,
            )
            break
        if charge_id and not customer_id:
            email, owner = charges.get(charge_id, ("", ""))
            if email:
                continue
            if owner:
                customer_id = owner
            elif charge_id not in asked:
                asked.add(charge_id)
                charge = fetch(account, "charge", charge_id)
                if charge is None:
                    continue
                snapshots.append(("charge", charge, _version()))
                customer_id = object_id(charge.get("customer"))
                if charge_email(charge) or not customer_id:
                    continue
        if customer_id and customer_id not in known and customer_id not in asked:
            asked.add(customer_id)
            customer = fetch(account, "customer", customer_id)
            if customer is not None and not customer.get("deleted"):
                snapshots.append(("customer", customer, _version()))
    return snapshots


def _coupon_id(discount: object) -> str:
    """The coupon id of a discount that names its coupon by id only (current API versions)."""
    if not isinstance(discount, dict):
        return ""
    coupon = discount.get("coupon")
    if coupon is None and isinstance(discount.get("source"), dict):
        coupon = discount["source"].get("coupon")
    return coupon if isinstance(coupon, str) else ""


def coupons(objects: Iterable[dict], account: StripeAccount, deadline: float) -> list[Snapshot]:
    """The coupons that discounts of the batch name by id only, from Stripe (one call each).

    Webhooks of current API versions carry ``discount.source.coupon`` as an id; without the
    coupon's terms a customer-wide coupon could not lower MRR.
    """
    wanted: list[str] = []
    for obj in objects:
        discount = obj if obj.get("object") == "discount" else obj.get("discount")
        coupon_id = _coupon_id(discount) if obj.get("object") in ("discount", "customer") else ""
        if coupon_id and coupon_id not in wanted:
            wanted.append(coupon_id)
    found: list[Snapshot] = []
    for coupon_id in wanted:
        if time.monotonic() > deadline:
            logger.info(
                "Stripe lookups of %s stopped at the time budget",
                account.stripe_user_id,
                account=account.stripe_user_id,
            )
            break
        coupon = fetch(account, "coupon", coupon_id)
        if coupon is not None:
            found.append(("coupon", coupon, _version()))
    return found

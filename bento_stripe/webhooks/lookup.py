"""Stripe API lookups made by the processing task (never by the webhook request)."""

from __future__ import annotations

import logging
import time

import stripe

from ..conf import app_settings
from ..ledger.parse import charge_email, object_id
from ..models import LedgerCharge, LedgerCustomer, StripeAccount

logger = logging.getLogger(__name__)

#: (kind, Stripe object, version) fetched before the processing transaction.
Snapshot = tuple[str, dict, tuple[int, str]]


def stripe_client(account: StripeAccount) -> stripe.StripeClient:
    """A client with the platform key acting on ``account`` (the ``Stripe-Account`` header)."""
    return stripe.StripeClient(
        app_settings.require("STRIPE_SECRET_KEY"),
        stripe_account=account.stripe_user_id,
        base_addresses={"api": app_settings.STRIPE_API_BASE},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=10),
    )


def _email_hint(obj: dict) -> str:
    details = obj.get("customer_details") or {}
    return (
        obj.get("customer_email")
        or details.get("email")
        or charge_email(obj)
        or (obj.get("email") if obj.get("object") == "customer" else "")
        or ""
    )


def _known_email(account: StripeAccount, customer_id: str) -> bool:
    return (
        LedgerCustomer.objects.filter(
            stripe_account_id=account.stripe_user_id,
            livemode=account.livemode,
            customer_id=customer_id,
        )
        .exclude(email="")
        .exists()
    )


def _fetch(account: StripeAccount, kind: str, object_id_: str) -> dict | None:
    client = stripe_client(account)
    service = client.v1.customers if kind == "customer" else client.v1.charges
    try:
        return service.retrieve(object_id_).to_dict()
    except stripe.StripeError as exc:
        # The message names the object, never the key.
        logger.warning("Stripe lookup of %s %s failed: %s", kind, object_id_, exc.user_message)
        return None


def prefetch(event: dict, account: StripeAccount) -> list[Snapshot]:
    """Fetch the customer (and charge) an event names when no email for them is known yet."""
    if not app_settings.LOOKUP_EMAILS or not app_settings.STRIPE_SECRET_KEY:
        return []
    obj = event["data"]["object"]
    if obj.get("object") == "customer" or _email_hint(obj):
        return []
    snapshots: list[Snapshot] = []
    customer_id = object_id(obj.get("customer"))
    charge_id = object_id(obj.get("charge")) if obj.get("object") in ("dispute", "refund") else ""
    if charge_id and not customer_id:
        row = LedgerCharge.objects.filter(
            stripe_account_id=account.stripe_user_id,
            livemode=account.livemode,
            charge_id=charge_id,
        ).first()
        if row is not None and row.email:
            return []
        if row is not None and row.customer_id:
            customer_id = row.customer_id
        else:
            charge = _fetch(account, "charge", charge_id)
            if charge is None:
                return []
            snapshots.append(("charge", charge, (int(time.time()), "api")))
            customer_id = object_id(charge.get("customer"))
            if charge_email(charge) or not customer_id:
                return snapshots
    if customer_id and not _known_email(account, customer_id):
        customer = _fetch(account, "customer", customer_id)
        if customer is not None and not customer.get("deleted"):
            snapshots.append(("customer", customer, (int(time.time()), "api")))
    return snapshots

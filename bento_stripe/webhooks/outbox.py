"""Finding a Bento event's person, and releasing held outbox rows once their email is known."""

from __future__ import annotations

from django.utils import timezone

from ..ledger.people import refresh_subscriber
from ..ledger.session import LedgerSession
from ..models import LedgerCharge, LedgerCustomer, OutboxEvent, Site, StripeAccount
from ..translators.base import BentoEvent


def resolve_email(ledger: LedgerSession, event: BentoEvent) -> str:
    """The person of a Bento event: the charge's, else the customer's, else the hint ("")."""
    if event.charge_id:
        row = ledger.charge_row(event.charge_id)
        if row is not None and row.email:
            return row.email
    if event.customer_id:
        email = ledger.customer_email(event.customer_id)
        if email:
            return email
        if event.charge_id:
            return ""  # the customer decides; its email is not known yet
    return event.email_hint


def _email_for_key(stripe_account_id: str, livemode: bool, key: str) -> str:
    where = {"stripe_account_id": stripe_account_id, "livemode": livemode}
    customer = LedgerCustomer.objects.filter(**where, customer_id=key).first()
    if customer is not None:
        return customer.email
    charge = LedgerCharge.objects.filter(**where, charge_id=key).first()
    return charge.email if charge is not None else ""


def release_held(
    account: StripeAccount, ledger: LedgerSession
) -> tuple[list[tuple[Site, str, dict | None, dict | None]], set[int]]:
    """Give held rows of ``account`` whose person became known their email; make them pending.

    Returns the field changes made on the way and the sites that got rows to deliver.
    """
    site_ids: set[int] = set()
    if not ledger.touched:
        return [], site_ids
    held = OutboxEvent.objects.select_for_update().filter(
        status=OutboxEvent.Status.HELD, stripe_account_id=account.stripe_user_id
    )
    changes = []
    refreshed: dict[tuple[int, str], dict] = {}
    for row in held:
        livemode = bool((row.payload.get("details") or {}).get("livemode"))
        if livemode != account.livemode or not row.stripe_customer_id:
            continue
        email = _email_for_key(account.stripe_user_id, livemode, row.stripe_customer_id)
        if not email:
            continue
        key = (row.site_id, email)
        if key not in refreshed:
            old, new = refresh_subscriber(row.site, email)
            refreshed[key] = new or {}
            if old != new:
                changes.append((row.site, email, old, new))
        row.email = email
        row.payload = {**row.payload, "email": email, "fields": refreshed[key]}
        row.status = OutboxEvent.Status.PENDING
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["email", "payload", "status", "next_attempt_at"])
        site_ids.add(row.site_id)
    return changes, site_ids
